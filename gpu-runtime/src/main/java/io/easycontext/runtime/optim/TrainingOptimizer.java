package io.easycontext.runtime.optim;

import io.easycontext.runtime.backend.Backend;

/**
 * What a training rank steps once its backward is done: the replicated {@link Optimizer}, which expects gradients
 * already summed over the world, or the ZeRO-sharded {@code ShardedOptimizer}, which sums them itself by a
 * reduce-scatter. Either clips, updates every rank's parameters alike and zeroes the gradients.
 */
public interface TrainingOptimizer extends AutoCloseable {

    Optimizer.Update step(Backend backend);

    /** Updates applied so far; the next {@link #step} is number {@code steps() + 1}. */
    long steps();

    /** The type the AdamW moments are kept in, which a checkpoint records and a resume must match. */
    OptimizerMoments moments();

    @Override
    void close();
}
