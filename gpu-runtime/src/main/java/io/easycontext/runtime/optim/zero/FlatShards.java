package io.easycontext.runtime.optim.zero;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.comm.Communicator;
import io.easycontext.runtime.comm.ReduceOp;
import io.easycontext.runtime.model.FlatParameters;
import io.easycontext.runtime.model.Parameter;
import io.easycontext.runtime.tensor.Tensor;

import java.util.List;

/**
 * ZeRO-1's shards: contiguous ranges of {@link FlatParameters}' two buffers, which every rank holds whole. The
 * backward accumulates local gradients into the whole gradient buffer; one reduce-scatter leaves each rank the sums
 * of its shard in place, and one all-gather of the updated shards, in place in the value buffer, gives every rank
 * the whole new model.
 */
final class FlatShards implements ShardStore {

    private final Backend backend;
    private final Communicator world;
    private final FlatParameters flat;
    private final Tensor valueShard;
    private final RankShard shard;

    FlatShards(Backend backend, Communicator world, FlatParameters flat, List<Parameter> parameters) {
        if (flat.layout().shards() != world.size()) {
            throw new IllegalArgumentException("the flat layout has " + flat.layout().shards() + " shards but the world "
                    + world.size() + " ranks");
        }
        this.backend = backend;
        this.world = world;
        this.flat = flat;
        this.valueShard = flat.valueShard(backend, world.rank());
        this.shard = new RankShard(flat.layout().shards(), world.rank(), flat.layout().fingerprint(),
                ShardValues.in(backend, valueShard), flat.gradShard(backend, world.rank()),
                ShardPiece.of(flat.layout(), world.rank(), parameters));
    }

    @Override
    public RankShard rankShard() {
        return shard;
    }

    @Override
    public void reduceGradients() {
        if (world.size() > 1) {
            world.reduceScatter(flat.grads(), shard.gradients(), ReduceOp.SUM);
        }
    }

    @Override
    public void gatherValues() {
        if (world.size() > 1) {
            world.allGather(valueShard, flat.values());
        }
    }

    @Override
    public void zeroGradients() {
        backend.fill(flat.grads(), 0);
    }
}
