package io.easycontext.service.job;

import java.time.Instant;
import java.util.UUID;

import com.fasterxml.jackson.annotation.JsonRawValue;

/** A job as the API shows it. */
record JobResponse(
        UUID id,
        JobKind kind,
        JobState state,
        String reason,
        String message,
        int priority,
        int gpus,
        // Stored JSON written by the service itself, so it is embedded as an object without parsing it again.
        @JsonRawValue String spec,
        Instant createdAt,
        Instant updatedAt) {

    static JobResponse of(Job job) {
        return new JobResponse(job.getId(), job.getKind(), job.getState(), job.getReason(), job.getMessage(),
                job.getPriority(), job.getGpus(), job.getSpecJson(), job.getCreatedAt(), job.getUpdatedAt());
    }
}
