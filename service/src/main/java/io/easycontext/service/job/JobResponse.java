package io.easycontext.service.job;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

import com.fasterxml.jackson.annotation.JsonRawValue;

/**
 * A job as the API shows it.
 *
 * @param attempt how many times a runner has started it (a restart can start it again)
 * @param gpuIds the GPUs of its latest start; empty on the CPU backend
 * @param commandLines the runtime CLI commands that reproduce it, one per training stage, run in the job's directory
 * @param progress null until it reports: a training at its first step, an evaluation as it starts
 */
public record JobResponse(
        UUID id,
        JobKind kind,
        JobState state,
        JobReason reason,
        String message,
        int priority,
        int gpus,
        List<Integer> gpuIds,
        int attempt,
        // Stored JSON written by the service itself, so it is embedded as an object without parsing it again.
        @JsonRawValue String spec,
        List<String> commandLines,
        JobProgress progress,
        Instant createdAt,
        Instant updatedAt,
        Instant startedAt,
        Instant finishedAt) {

    public static JobResponse of(Job job) {
        return new JobResponse(job.getId(), job.getKind(), job.getState(), job.getReason(), job.getMessage(),
                job.getPriority(), job.getGpus(), job.getGpuIds(), job.getAttempt(), job.getSpecJson(),
                job.getCommandLines(), job.getProgress(), job.getCreatedAt(), job.getUpdatedAt(), job.getStartedAt(),
                job.getFinishedAt());
    }
}
