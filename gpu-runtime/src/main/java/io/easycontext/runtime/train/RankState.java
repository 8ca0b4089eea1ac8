package io.easycontext.runtime.train;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.comm.Communicator;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.optim.TrainingOptimizer;

/** One rank's live training state, as a {@link Checkpointing} saves and restores it. */
public interface RankState {

    TrainConfig config();

    DataSource data();

    /** Every rank of the run. */
    Communicator world();

    Backend backend();

    LlamaWeights weights();

    /**
     * The replicated {@code Optimizer}, or a {@code ShardedOptimizer} holding this rank's shard of the state, as
     * {@link TrainConfig#sharding()} says.
     */
    TrainingOptimizer optimizer();
}
