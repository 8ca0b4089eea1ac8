package io.easycontext.service.job;

import java.util.EnumSet;
import java.util.Set;

/**
 * Where a job is in its life, and the only moves it can make:
 *
 * <pre>
 *   QUEUED ──▶ STARTING ──▶ RUNNING ──▶ SUCCEEDED | FAILED
 *     │           │  ▲         │  ▲
 *     │           ▼  │         ▼  │ (a restart puts started jobs back in the queue)
 *     │      CANCELLING ◀──────┘
 *     │           └──▶ CANCELLED | SUCCEEDED | FAILED
 *     └──▶ CANCELLED
 * </pre>
 *
 * A cancelled job that had started passes through CANCELLING until its work has stopped at a step boundary; if
 * its last step finishes first, it SUCCEEDED after all. Stored by name.
 */
public enum JobState {
    /** Accepted and waiting for the resources it asked for. */
    QUEUED,
    /** Given its resources; its runner is building the model. */
    STARTING,
    /** Training or evaluating. */
    RUNNING,
    /** Asked to stop; its work stops at the next step boundary. */
    CANCELLING,
    SUCCEEDED,
    FAILED,
    CANCELLED;

    /** The states this one may move to; the transition table that {@link Job} enforces. */
    public Set<JobState> next() {
        return switch (this) {
            case QUEUED -> EnumSet.of(STARTING, CANCELLED);
            case STARTING -> EnumSet.of(RUNNING, CANCELLING, FAILED, QUEUED);
            case RUNNING -> EnumSet.of(CANCELLING, SUCCEEDED, FAILED, QUEUED);
            case CANCELLING -> EnumSet.of(CANCELLED, SUCCEEDED, FAILED);
            case SUCCEEDED, FAILED, CANCELLED -> EnumSet.noneOf(JobState.class);
        };
    }

    public boolean canMoveTo(JobState target) {
        return next().contains(target);
    }

    public boolean isTerminal() {
        return next().isEmpty();
    }

    /** Whether a runner holds resources for the job: what a node restart interrupts. */
    public boolean isActive() {
        return this == STARTING || this == RUNNING || this == CANCELLING;
    }
}
