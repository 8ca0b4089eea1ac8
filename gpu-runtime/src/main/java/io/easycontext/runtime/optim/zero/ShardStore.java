package io.easycontext.runtime.optim.zero;

import io.easycontext.runtime.tensor.Tensor;

import java.util.List;

/**
 * Where a {@link ShardedOptimizer} finds its rank's shard of the values and of the reduced gradients, and how the
 * shards meet the whole model around an update: ZeRO-1's flat buffers ({@link FlatShards}), reduced by one
 * reduce-scatter before the update and gathered by one all-gather after it, or the units of ZeRO-2 and -3
 * ({@link ShardedParameters}), whose gradients the backward has already reduced unit by unit.
 */
interface ShardStore {

    /** Ranks the state is cut over. */
    int shards();

    /** This rank's shard. */
    int shard();

    /** Differs between layouts that place any element differently; a checkpoint's shard must match it. */
    String fingerprint();

    /** This rank's values, the ones its optimizer updates, wherever they live. */
    ShardValues values();

    /** This rank's reduced gradients, once {@link #reduceGradients()} returns. */
    Tensor gradShard();

    /** The parameters' pieces of the shard, for their weight decay; gaps and padding belong to none. */
    List<ShardPiece> pieces();

    /** Collective: leaves the step's gradients, summed over the world, in {@link #gradShard()}. */
    void reduceGradients();

    /** Collective: hands every rank's updated shard to the ranks that hold those values whole. */
    void gatherValues();

    /** Zeroes the gradients for the next step. */
    void zeroGradients();
}
