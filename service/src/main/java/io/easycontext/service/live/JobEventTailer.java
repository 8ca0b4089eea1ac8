package io.easycontext.service.live;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import io.easycontext.runtime.spec.TrainSpec;
import io.easycontext.service.artifact.ArtifactStore;
import io.easycontext.service.job.Job;
import io.easycontext.service.job.JobKind;
import io.easycontext.service.job.JobResponse;
import io.easycontext.service.job.JobService;
import io.easycontext.service.job.JobState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.json.JsonMapper;

/**
 * Follows a job for a Server-Sent Events client: a {@code job} event with the job as {@code GET /api/jobs/{id}} shows
 * it, at once and again whenever it changes (state, progress); a {@code step} event for each optimizer step of a
 * training, from its metrics files, every earlier step first; and, once the job has ended and its last steps are out,
 * an {@code end} event with its state. Like the log, it polls what the runner has written rather than subscribing to
 * the runner, so that a finished job, or one run before a restart, streams the same way as a running one.
 */
@Component
class JobEventTailer implements DisposableBean {

    private static final Duration POLL_INTERVAL = Duration.ofMillis(300);
    private static final Duration STREAM_TIMEOUT = Duration.ofMinutes(30);
    private static final int BATCH = 500;
    private static final Logger log = LoggerFactory.getLogger(JobEventTailer.class);

    private final JobService jobs;
    private final ArtifactStore artifacts;
    private final JsonMapper json;
    private final ScheduledExecutorService pollers = Executors.newScheduledThreadPool(2, r -> {
        Thread t = new Thread(r, "job-event-tail");
        t.setDaemon(true);
        return t;
    });

    JobEventTailer(JobService jobs, ArtifactStore artifacts, JsonMapper json) {
        this.jobs = jobs;
        this.artifacts = artifacts;
        this.json = json;
    }

    /** Streams the job's events, its steps after {@code afterStep} (0: all). */
    SseEmitter follow(UUID jobId, long afterStep) {
        SseEmitter emitter = new SseEmitter(STREAM_TIMEOUT.toMillis());
        Tail tail = new Tail(jobId, afterStep, emitter);
        // The first poll runs on the request's thread, before the emitter is handed to Spring MVC, which sends what
        // it holds as the response starts: a poller thread's first send would race the request thread's last
        // header writes (Spring Security's), which are not thread-safe.
        tail.poll();
        ScheduledFuture<?> polling = pollers.scheduleWithFixedDelay(tail::poll, POLL_INTERVAL.toMillis(),
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

    /** The steps of each stage of a training, in order; none for an evaluation. */
    private List<Long> stageSteps(Job job) {
        if (job.getKind() != JobKind.TRAIN) {
            return List.of();
        }
        try {
            return json.readValue(job.getSpecJson(), TrainSpec.class).runs().stream()
                    .map(run -> (long) run.maxTrainSteps())
                    .toList();
        } catch (JacksonException e) {
            // A spec stored by an older version that this one no longer reads: the job's state still streams.
            log.warn("Job {}: cannot read its spec, so its events carry no steps", job.getId(), e);
            return List.of();
        }
    }

    /** One client's position in one job's events. Polls run one at a time, so its fields need no locking. */
    private final class Tail {
        private final UUID jobId;
        private final long afterStep;
        private final SseEmitter emitter;
        private StageMetricsFollower steps;
        private JobResponse lastSent;
        private JobState endedAs;
        private boolean done;

        Tail(UUID jobId, long afterStep, SseEmitter emitter) {
            this.jobId = jobId;
            this.afterStep = afterStep;
            this.emitter = emitter;
        }

        void poll() {
            if (done) {
                return;
            }
            try {
                // The job is read before the steps: the runner writes a step's line before the state that follows it,
                // so only a poll that finds no new steps after an earlier poll saw the end has seen every step.
                Job job = jobs.get(jobId);
                if (steps == null) {
                    steps = new StageMetricsFollower(artifacts.locationOf(jobId), stageSteps(job), afterStep);
                }
                JobResponse now = JobResponse.of(job);
                if (!now.equals(lastSent)) {
                    emitter.send(SseEmitter.event().name("job").data(now, MediaType.APPLICATION_JSON));
                    lastSent = now;
                }
                List<StepEvent> newSteps = steps.poll(BATCH);
                for (StepEvent step : newSteps) {
                    emitter.send(SseEmitter.event().name("step").id(Long.toString(step.step()))
                            .data(step, MediaType.APPLICATION_JSON));
                }
                if (newSteps.isEmpty() && endedAs != null) {
                    done = true;
                    emitter.send(SseEmitter.event().name("end").data(endedAs.name()));
                    emitter.complete();
                } else if (job.getState().isTerminal()) {
                    endedAs = job.getState();
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
