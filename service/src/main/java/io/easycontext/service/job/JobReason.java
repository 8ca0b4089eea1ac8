package io.easycontext.service.job;

import java.util.EnumSet;
import java.util.Set;

/** Why a job is in its state: every terminal state has one, and a job requeued after a restart says so too. */
public enum JobReason {
    /** Its work finished. */
    COMPLETED(JobState.SUCCEEDED),
    /** Someone cancelled it. */
    USER_CANCELLED(JobState.CANCELLING, JobState.CANCELLED),
    /** Host or device memory ran out. */
    OUT_OF_MEMORY(JobState.FAILED),
    /** The model could not be loaded: its directory or config is gone or unusable. */
    INVALID_MODEL(JobState.FAILED),
    /** The data it reads (a dataset, a haystack, a tokenizer) is gone, unusable or does not fit the model. */
    INVALID_DATA(JobState.FAILED),
    /** The loss or the gradients became NaN or infinite; training stopped there. */
    NAN_LOSS(JobState.FAILED),
    /** The service stopped while the job ran: requeued, or failed once it had been requeued too often. */
    NODE_RESTART(JobState.QUEUED, JobState.FAILED),
    /** Anything else: the message says what. */
    INTERNAL(JobState.FAILED);

    private final Set<JobState> states;

    JobReason(JobState first, JobState... rest) {
        this.states = EnumSet.of(first, rest);
    }

    /** Whether a job in {@code state} may carry this reason. */
    public boolean explains(JobState state) {
        return states.contains(state);
    }
}
