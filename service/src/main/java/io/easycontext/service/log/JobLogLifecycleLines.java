package io.easycontext.service.log;

import io.easycontext.service.job.JobEvents;
import io.easycontext.service.job.JobState;
import org.springframework.stereotype.Component;
import org.springframework.transaction.event.TransactionalEventListener;

/** Writes what clients did to a job into its log, next to what its runner writes. */
@Component
class JobLogLifecycleLines {

    private final JobLog log;

    JobLogLifecycleLines(JobLog log) {
        this.log = log;
    }

    @TransactionalEventListener(fallbackExecution = true)
    void onSubmitted(JobEvents.Submitted submitted) {
        log.append(submitted.jobId(), "queued: " + submitted.kind() + ", priority " + submitted.priority() + ", "
                + (submitted.gpus() == 0 ? "CPU backend" : submitted.gpus() + " GPU(s), assigned when it starts"));
    }

    @TransactionalEventListener(fallbackExecution = true)
    void onCancelRequested(JobEvents.CancelRequested cancel) {
        log.append(cancel.jobId(), cancel.state() == JobState.CANCELLED
                ? "CANCELLED (USER_CANCELLED): cancelled before it started"
                : "cancel requested: stopping at the next step boundary");
    }
}
