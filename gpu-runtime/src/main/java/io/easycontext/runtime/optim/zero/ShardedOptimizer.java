package io.easycontext.runtime.optim.zero;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.comm.Communicator;
import io.easycontext.runtime.model.FlatParameters;
import io.easycontext.runtime.model.Parameter;
import io.easycontext.runtime.optim.AdamW;
import io.easycontext.runtime.optim.GradientClipping;
import io.easycontext.runtime.optim.LrSchedule;
import io.easycontext.runtime.optim.Optimizer;
import io.easycontext.runtime.optim.OptimizerMoments;
import io.easycontext.runtime.optim.TrainingOptimizer;
import io.easycontext.runtime.tensor.Tensor;

import java.util.List;

/**
 * ZeRO stage 1: {@link Optimizer}'s update with the AdamW state sharded over the ranks. Rank {@code r} of {@code W}
 * owns the contiguous {@code r}-th of {@code W} equal shards of the flat parameter space ({@link FlatParameters}) and
 * keeps master weights and moments for that shard only: {@code 12·P/W} bytes instead of {@code 12·P} for bf16
 * parameters ({@code 8·P/W} with {@link OptimizerMoments#BF16} moments), on the device or, with an
 * {@link OffloadMode}, in host memory.
 *
 * <p>A step takes every rank's <em>local</em> gradients, so the caller must not all-reduce them: one
 * {@code reduceScatter} (sum) leaves each rank the reduced gradients of its shard, in place in the flat gradient
 * buffer; the global norm is the square root of the ranks' shard sums of squares, all-reduced; each rank clips and
 * applies AdamW to its shard, cut into per-parameter pieces so that each keeps its own weight decay; one
 * {@code allGather} of the updated shards, in place in the flat value buffer, gives every rank the whole new model.
 *
 * <p>Over the in-process communicator the reduced gradients and the update are bit for bit those of the replicated
 * optimizer: reduce-scatter and all-reduce both sum in rank order and round once, and AdamW is elementwise. Only the
 * norm is summed in another order (per shard rather than per parameter), which moves the clip coefficient by an ulp
 * or so when clipping acts. NCCL is deterministic too, but may add its reduce-scatter in another order than its
 * all-reduce beyond two ranks, which moves bf16 gradients by an ulp.
 *
 * <p>Under stage 1 the full gradient buffer lives on every rank (the backward accumulates into it). Under stages 2
 * and 3 ({@link ShardedParameters}) the backward reduce-scatters each unit's gradients into the shard as soon as the
 * unit is done, so the step finds them reduced; the norm is still the exact global one, from the shards' sums of
 * squares, and under stage 3 no gather follows the update: the next forward gathers each unit as it needs it.
 */
public final class ShardedOptimizer implements TrainingOptimizer {

    /**
     * Elements per chunk of an offloaded update: 4M fp32 master weights and moments are 48 MiB a copy, long enough
     * to reach the link's full speed, small enough that three chunks in flight cost little device memory.
     */
    public static final int DEFAULT_CHUNK_ELEMENTS = 1 << 22;

    /**
     * Chunks of an offloaded update in flight at once, each with staging of its own: one being copied in, one being
     * updated, one being copied out, so that both copy directions and the update all run at the same time.
     */
    public static final int CHUNKS_IN_FLIGHT = 3;

    private final Communicator world;
    private final ShardStore shards;
    private final LrSchedule schedule;
    private final double maxGradNorm;
    private final OffloadMode offload;
    private final OptimizerMoments moments;
    private final ShardState state;
    private long steps;

    /**
     * This rank's part of the optimizer over {@code world}, whose size must be the layout's shard count. Every rank
     * must hold the same values when it builds its part: the master weights of its shard start as them.
     *
     * @param parameters the parameters {@code flat} lays out, for their weight decay
     * @param maxGradNorm 0 disables clipping
     */
    public ShardedOptimizer(Backend backend, Communicator world, FlatParameters flat, List<Parameter> parameters,
                            AdamW.Hyper hyper, LrSchedule schedule, double maxGradNorm, OffloadMode offload) {
        this(backend, world, flat, parameters, hyper, schedule, maxGradNorm, offload, DEFAULT_CHUNK_ELEMENTS);
    }

    ShardedOptimizer(Backend backend, Communicator world, FlatParameters flat, List<Parameter> parameters,
                     AdamW.Hyper hyper, LrSchedule schedule, double maxGradNorm, OffloadMode offload,
                     int chunkElements) {
        this(backend, world, new FlatShards(backend, world, flat, parameters), hyper, schedule, maxGradNorm, offload,
                chunkElements);
    }

    /**
     * ZeRO stage 2 or 3: the optimizer of the shards {@code parameters} keeps, whose gradients the backward reduces
     * unit by unit; the step only clips, updates and, under stage 2, gathers the new values.
     */
    public ShardedOptimizer(Backend backend, Communicator world, ShardedParameters parameters, AdamW.Hyper hyper,
                            LrSchedule schedule, double maxGradNorm, OffloadMode offload) {
        this(backend, world, parameters, hyper, schedule, maxGradNorm, offload, DEFAULT_CHUNK_ELEMENTS);
    }

    ShardedOptimizer(Backend backend, Communicator world, ShardStore shards, AdamW.Hyper hyper, LrSchedule schedule,
                     double maxGradNorm, OffloadMode offload, int chunkElements) {
        ShardStore.RankShard own = shards.rankShard();
        if (own.shards() != world.size() || own.index() != world.rank()) {
            throw new IllegalArgumentException("shard " + own.index() + " of " + own.shards()
                    + " does not belong to rank " + world.rank() + " of " + world.size());
        }
        this.world = world;
        this.shards = shards;
        this.schedule = schedule;
        this.maxGradNorm = maxGradNorm;
        this.offload = offload;
        this.moments = hyper.moments();
        ShardValues values = own.values();
        Tensor grads = own.gradients();
        List<ShardPiece> pieces = own.pieces();
        this.state = switch (offload) {
            case NONE -> new DeviceShardState(backend, values, grads, pieces, hyper);
            case CPU -> new CpuOffloadState(backend, values, grads, pieces, hyper, chunkElements);
            case GPU_STREAM -> new StreamOffloadState(backend, values, grads, pieces, hyper, chunkElements);
        };
    }

    /**
     * Reduces the local gradients (where the backward has not), clips, updates and gathers, then zeroes the
     * gradients. Collective. A non-finite norm throws on every rank alike, before any weight changes.
     */
    @Override
    public Optimizer.Update step(Backend backend) {
        long step = steps + 1;
        shards.reduceGradients();
        double norm = GradientClipping.globalNorm(backend, world, shards.rankShard().gradients());
        if (!Double.isFinite(norm)) {
            throw new ArithmeticException("gradient norm is " + norm + " at step " + step);
        }
        double coefficient = GradientClipping.coefficient(norm, maxGradNorm);
        double lr = schedule.at(step);
        state.update(lr, step, coefficient);
        steps = step;
        shards.gatherValues();
        shards.zeroGradients();
        return new Optimizer.Update(step, lr, norm, coefficient);
    }

    @Override
    public long steps() {
        return steps;
    }

    /** Sets the count of updates applied, when a checkpoint restores the state they produced. */
    public void restoreSteps(long applied) {
        if (applied < 0) {
            throw new IllegalArgumentException("a negative step count " + applied);
        }
        steps = applied;
    }

    /** This rank's shard of the AdamW state, for checkpoints. */
    public ShardState state() {
        return state;
    }

    /** This rank's shard. */
    public int shard() {
        return shards.rankShard().index();
    }

    /** The ranks the state is cut over. */
    public int shards() {
        return shards.rankShard().shards();
    }

    /** The layout of the shards, as a text that differs between layouts placing any element differently. */
    public String layoutFingerprint() {
        return shards.rankShard().fingerprint();
    }

    public OffloadMode offload() {
        return offload;
    }

    @Override
    public OptimizerMoments moments() {
        return moments;
    }

    @Override
    public void close() {
        state.close();
    }
}
