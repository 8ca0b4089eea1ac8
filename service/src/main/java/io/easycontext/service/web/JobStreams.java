package io.easycontext.service.web;

import java.io.IOException;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import io.easycontext.service.job.Job;
import io.easycontext.service.job.JobService;
import io.easycontext.service.job.JobState;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.stereotype.Component;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;

/**
 * Streams a job to Server-Sent Events clients by polling what has been written about it, rather than subscribing to
 * the runner: catch-up and following are then one code path, and a finished job, or one run before a restart, streams
 * the same way as a running one. Each poll reads the job, then lets the client's {@link Feed} send what the client
 * has not had yet; once the job has ended and a later poll finds nothing new, an {@code end} event carries its state
 * and the stream closes.
 */
@Component
public class JobStreams implements DisposableBean {

    private static final Duration POLL_INTERVAL = Duration.ofMillis(300);
    private static final Duration STREAM_TIMEOUT = Duration.ofMinutes(30);

    private final JobService jobs;
    private final ScheduledExecutorService pollers = Executors.newScheduledThreadPool(4, r -> {
        Thread t = new Thread(r, "job-stream");
        t.setDaemon(true);
        return t;
    });

    JobStreams(JobService jobs) {
        this.jobs = jobs;
    }

    /** What one client is sent about a job besides its end, and how far it has got: polls run one at a time. */
    @FunctionalInterface
    public interface Feed {

        /** Sends what is new since the last call, given the job as just read; whether there was anything new. */
        boolean sendNew(Job job, SseEmitter emitter) throws IOException;
    }

    /** The job's stream for a new client; an unknown job throws here, a 404 problem rather than an empty stream. */
    public SseEmitter follow(UUID jobId, Feed feed) {
        jobs.get(jobId);
        SseEmitter emitter = new SseEmitter(STREAM_TIMEOUT.toMillis());
        Stream stream = new Stream(jobId, feed, emitter);
        // The first poll runs on the request's thread, before the emitter is handed to Spring MVC, which sends what
        // it holds as the response starts: a poller thread's first send would race the request thread's last
        // header writes (Spring Security's), which are not thread-safe.
        stream.poll();
        ScheduledFuture<?> polling = pollers.scheduleWithFixedDelay(stream::poll, POLL_INTERVAL.toMillis(),
                POLL_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
        emitter.onCompletion(() -> polling.cancel(false));
        emitter.onTimeout(emitter::complete);
        emitter.onError(e -> polling.cancel(false));
        return emitter;
    }

    @Override
    public void destroy() {
        pollers.shutdownNow();
    }

    /** One client's stream. Polls run one at a time, so its fields need no locking. */
    private final class Stream {
        private final UUID jobId;
        private final Feed feed;
        private final SseEmitter emitter;
        private JobState endedAs;
        private boolean done;

        Stream(UUID jobId, Feed feed, SseEmitter emitter) {
            this.jobId = jobId;
            this.feed = feed;
            this.emitter = emitter;
        }

        void poll() {
            if (done) {
                return;
            }
            try {
                // The job is read before the feed: what the runner wrote before the final state is then in reach of
                // this poll, and what it writes after (a log's last lines) or what one batch left over is in reach
                // of the next. So only a poll that finds nothing new after an earlier poll saw the end has seen all.
                Job job = jobs.get(jobId);
                boolean foundNew = feed.sendNew(job, emitter);
                if (!foundNew && endedAs != null) {
                    done = true;
                    emitter.send(SseEmitter.event().name("end").data(endedAs.name()));
                    emitter.complete();
                } else if (job.getState().isTerminal()) {
                    endedAs = job.getState();
                }
            } catch (IOException | RuntimeException e) {
                // The client went away, the emitter was completed under us, or reading failed: stop polling for it.
                done = true;
                emitter.completeWithError(e);
            }
        }
    }
}
