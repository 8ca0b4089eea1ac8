package io.easycontext.service.log;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import io.easycontext.service.job.JobService;
import io.easycontext.service.job.JobState;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.stereotype.Component;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;

/**
 * Follows a job's log for a Server-Sent Events client: first every line after the one the client has (catch-up),
 * then new lines as they are written, each as an event whose id is the line's, so that a reconnecting client's
 * {@code Last-Event-ID} resumes exactly. Reading the database rather than subscribing to the runner makes
 * catch-up and following one code path, and works for any job, running or long finished. When the job has
 * ended and its last lines are out, an {@code end} event carries its state and the stream closes.
 */
@Component
class JobLogTailer implements DisposableBean {

    static final Duration POLL_INTERVAL = Duration.ofMillis(300);
    static final Duration STREAM_TIMEOUT = Duration.ofMinutes(30);
    private static final int BATCH = 500;

    private final JobLog log;
    private final JobService jobs;
    private final ScheduledExecutorService pollers = Executors.newScheduledThreadPool(2, r -> {
        Thread t = new Thread(r, "job-log-tail");
        t.setDaemon(true);
        return t;
    });

    JobLogTailer(JobLog log, JobService jobs) {
        this.log = log;
        this.jobs = jobs;
    }

    SseEmitter follow(UUID jobId, long afterLineId) {
        SseEmitter emitter = new SseEmitter(STREAM_TIMEOUT.toMillis());
        Tail tail = new Tail(jobId, afterLineId, emitter);
        ScheduledFuture<?> polling = pollers.scheduleWithFixedDelay(tail::poll, 0, POLL_INTERVAL.toMillis(),
                TimeUnit.MILLISECONDS);
        emitter.onCompletion(() -> polling.cancel(false));
        emitter.onTimeout(emitter::complete);
        emitter.onError(e -> polling.cancel(false));
        return emitter;
    }

    @Override
    public void destroy() {
        pollers.shutdownNow();
    }

    /** One client's position in one job's log. Polls run one at a time, so its fields need no locking. */
    private final class Tail {
        private final UUID jobId;
        private final SseEmitter emitter;
        private long lastSent;
        private JobState endedAs;
        private boolean done;

        Tail(UUID jobId, long afterLineId, SseEmitter emitter) {
            this.jobId = jobId;
            this.lastSent = afterLineId;
            this.emitter = emitter;
        }

        void poll() {
            if (done) {
                return;
            }
            try {
                // The state is read before the lines: a runner writes its last line after the final state, so only
                // a poll that finds no new lines after an earlier poll saw the end has seen everything.
                JobState state = jobs.get(jobId).getState();
                List<JobLogLine> lines = log.after(jobId, lastSent, BATCH);
                for (JobLogLine line : lines) {
                    emitter.send(SseEmitter.event().id(Long.toString(line.getId())).data(line.getLine()));
                    lastSent = line.getId();
                }
                if (lines.isEmpty() && endedAs != null) {
                    done = true;
                    emitter.send(SseEmitter.event().name("end").data(endedAs.name()));
                    emitter.complete();
                } else if (state.isTerminal()) {
                    endedAs = state;
                }
            } catch (IOException | IllegalStateException e) {
                // The client went away, or the emitter was completed under us: stop polling for it.
                done = true;
                emitter.completeWithError(e);
            } catch (RuntimeException e) {
                done = true;
                emitter.completeWithError(e);
            }
        }
    }
}
