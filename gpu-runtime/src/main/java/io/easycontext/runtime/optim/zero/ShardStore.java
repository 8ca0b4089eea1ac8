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

    /** This rank's shard: which one, where its values and reduced gradients live, and its parameters' pieces. */
    RankShard rankShard();

    /** Collective: leaves the step's gradients, summed over the world, in {@link RankShard#gradients()}. */
    void reduceGradients();

    /** Collective: hands every rank's updated shard to the ranks that hold those values whole. */
    void gatherValues();

    /** Zeroes the gradients for the next step. */
    void zeroGradients();

    /**
     * One rank's shard of a store.
     *
     * @param shards ranks the state is cut over
     * @param index this rank's shard
     * @param fingerprint differs between layouts that place any element differently; a checkpoint's shard must
     *                    match it
     * @param values this rank's values, the ones its optimizer updates, wherever they live
     * @param gradients this rank's reduced gradients, once {@link #reduceGradients()} returns
     * @param pieces the parameters' pieces of the shard, for their weight decay; gaps and padding belong to none
     */
    record RankShard(int shards, int index, String fingerprint, ShardValues values, Tensor gradients,
                     List<ShardPiece> pieces) {
    }
}
