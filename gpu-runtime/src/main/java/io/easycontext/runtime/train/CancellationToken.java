package io.easycontext.runtime.train;

/**
 * Asked at every optimizer-step boundary whether to stop. Training stops between two steps, on every rank at
 * once, and throws {@link TrainingCancelledException}; the ranks close their trainers on the way out, so the
 * memory of the run is released.
 */
@FunctionalInterface
public interface CancellationToken {

    /** Never asks to stop. */
    CancellationToken NONE = () -> false;

    /** Called on rank 0's thread only; must be cheap. */
    boolean isCancellationRequested();
}
