package io.easycontext.runtime.train;

/** Training stopped at a step boundary because its {@link CancellationToken} asked it to. */
public final class TrainingCancelledException extends RuntimeException {

    private final int completedSteps;

    public TrainingCancelledException(int completedSteps) {
        super("training cancelled after " + completedSteps + " steps");
        this.completedSteps = completedSteps;
    }

    /** Optimizer steps finished before the stop. */
    public int completedSteps() {
        return completedSteps;
    }
}
