package io.easycontext.service.live;

import java.io.IOException;
import java.util.List;
import java.util.UUID;

import io.easycontext.runtime.spec.TrainSpec;
import io.easycontext.service.artifact.ArtifactStore;
import io.easycontext.service.job.Job;
import io.easycontext.service.job.JobKind;
import io.easycontext.service.job.JobResponse;
import io.easycontext.service.web.JobStreams;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.json.JsonMapper;

/**
 * Follows a job for a Server-Sent Events client: a {@code job} event with the job as {@code GET /api/jobs/{id}} shows
 * it, at once and again whenever it changes (state, progress); a {@code step} event for each optimizer step of a
 * training, from its metrics files, every earlier step first; and, once the job has ended and its last steps are out,
 * {@link JobStreams}' {@code end} event with its state.
 */
@Component
class JobEventTailer {

    private static final int BATCH = 500;
    private static final Logger log = LoggerFactory.getLogger(JobEventTailer.class);

    private final JobStreams streams;
    private final ArtifactStore artifacts;
    private final JsonMapper json;

    JobEventTailer(JobStreams streams, ArtifactStore artifacts, JsonMapper json) {
        this.streams = streams;
        this.artifacts = artifacts;
        this.json = json;
    }

    /** Streams the job's events, its steps after {@code afterStep} (0: all). */
    SseEmitter follow(UUID jobId, long afterStep) {
        return streams.follow(jobId, new Tail(afterStep));
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

    /** One client's position in one job's events. */
    private final class Tail implements JobStreams.Feed {
        private final long afterStep;
        private StageMetricsFollower steps;
        private JobResponse lastSent;

        Tail(long afterStep) {
            this.afterStep = afterStep;
        }

        /** Only steps count as new: the job event comes from the very read that the end is decided on. */
        @Override
        public boolean sendNew(Job job, SseEmitter emitter) throws IOException {
            if (steps == null) {
                steps = new StageMetricsFollower(artifacts.locationOf(job.getId()), stageSteps(job), afterStep);
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
            return !newSteps.isEmpty();
        }
    }
}
