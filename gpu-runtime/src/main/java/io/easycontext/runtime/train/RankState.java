package io.easycontext.runtime.train;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.comm.Communicator;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.optim.TrainingOptimizer;
import io.easycontext.runtime.tensor.DType;

/** One rank's live training state, as a {@link Checkpointing} saves and restores it. */
public interface RankState {

    TrainConfig config();

    DataSource data();

    /** Every rank of the run. */
    Communicator world();

    Backend backend();

    /**
     * Every parameter's current value where {@code backend} reads it, in the run's precision {@code dtype}. Closing it
     * frees a copy; the live weights it may be stay as they are.
     */
    record WholeWeights(Backend backend, LlamaWeights weights, DType dtype, boolean copy) implements AutoCloseable {
        @Override
        public void close() {
            if (copy) {
                weights.close();
            }
        }
    }

    /**
     * Collective: every parameter's current value, readable on rank {@code root}. Where each rank holds every
     * parameter (ZeRO stages 0 to 2) these are the live weights on every rank, and nothing moves; under ZeRO-3 the
     * ranks gather them unit by unit into a host copy on {@code root}, and the other ranks get null.
     */
    WholeWeights wholeWeights(int root);

    /**
     * Overwrites every parameter's value with what {@code loader} fills it with (as it does a tensor of the
     * parameter's shape in the run's precision). Not collective: every rank fills its own, and must fill the same.
     */
    void loadWeights(LlamaWeights.Loader loader);

    /**
     * The replicated {@code Optimizer}, or a {@code ShardedOptimizer} holding this rank's shard of the state, as
     * {@link TrainConfig#sharding()} says.
     */
    TrainingOptimizer optimizer();
}
