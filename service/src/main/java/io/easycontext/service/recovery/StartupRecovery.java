package io.easycontext.service.recovery;

import java.util.EnumSet;
import java.util.List;

import io.easycontext.service.job.Job;
import io.easycontext.service.job.JobChanges;
import io.easycontext.service.job.JobReason;
import io.easycontext.service.job.JobRepository;
import io.easycontext.service.job.JobState;
import io.easycontext.service.log.JobLog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.ApplicationArguments;
import org.springframework.boot.ApplicationRunner;
import org.springframework.stereotype.Component;

/**
 * At start-up, before the scheduler runs: the jobs an earlier process left started (it crashed, or was killed)
 * have no runner any more. Each goes back to the queue, up to {@link RecoveryProperties#maxRestarts()} times, and
 * then fails with NODE_RESTART; one that was being cancelled is cancelled. A requeued training resumes from its
 * newest checkpoint, in the stage it was in; an evaluation runs again.
 */
@Component
class StartupRecovery implements ApplicationRunner {

    private static final Logger log = LoggerFactory.getLogger(StartupRecovery.class);

    private final JobRepository jobs;
    private final JobChanges changes;
    private final JobLog jobLog;
    private final RecoveryProperties properties;

    StartupRecovery(JobRepository jobs, JobChanges changes, JobLog jobLog, RecoveryProperties properties) {
        this.jobs = jobs;
        this.changes = changes;
        this.jobLog = jobLog;
        this.properties = properties;
    }

    @Override
    public void run(ApplicationArguments args) {
        List<Job> interrupted = jobs.findByStateIn(EnumSet.of(JobState.STARTING, JobState.RUNNING,
                JobState.CANCELLING));
        for (Job job : interrupted) {
            Job recovered = changes.apply(job.getId(), (j, now) -> {
                if (j.getState() == JobState.CANCELLING) {
                    j.finish(JobState.CANCELLED, JobReason.USER_CANCELLED, "cancelled: the node restarted", now);
                } else if (j.getRecoveries() < properties.maxRestarts()) {
                    j.requeueAfterRestart("requeued after a node restart (" + (j.getRecoveries() + 1) + " of at most "
                            + properties.maxRestarts() + ")", now);
                } else {
                    j.finish(JobState.FAILED, JobReason.NODE_RESTART, "the node restarted during "
                            + (j.getRecoveries() + 1) + " runs of this job; not requeued again", now);
                }
                return j;
            });
            jobLog.append(recovered.getId(), recovered.getState() + " (" + recovered.getReason() + "): "
                    + recovered.getMessage());
            log.info("Job {} was {} when the node stopped: now {}", job.getId(), job.getState(), recovered.getState());
        }
    }
}
