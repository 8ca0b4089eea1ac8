package io.easycontext.runtime.train;

/**
 * Saves and restores a run's state around its optimizer steps. Both calls are collective: every rank makes them,
 * in step.
 */
public interface Checkpointing {

    /** Neither saves nor restores. */
    Checkpointing NONE = new Checkpointing() {
        @Override
        public long restore(RankState rank) {
            return 0;
        }

        @Override
        public void afterStep(RankState rank, long completed) {
        }
    };

    /**
     * Before the first step: loads a saved state into the rank, returning the optimizer steps it had completed, or
     * leaves the rank as built and returns 0.
     */
    long restore(RankState rank);

    /** After optimizer step {@code completed} (counted from 1). */
    void afterStep(RankState rank, long completed);
}
