package io.easycontext.service.job;

import java.util.UUID;

/** What the job lifecycle tells the rest of the service, after the change is committed. */
public final class JobEvents {

    private JobEvents() {
    }

    /** A new job is in the queue. */
    public record Submitted(UUID jobId, JobKind kind, int priority, int gpus) {
    }

    /** A client cancelled the job: {@code state} is CANCELLED for a queued one, CANCELLING for a started one. */
    public record CancelRequested(UUID jobId, JobState state) {
    }
}
