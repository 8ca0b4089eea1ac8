package io.easycontext.runtime.plan;

import io.easycontext.runtime.model.FlatLayout;
import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.model.LlamaModel;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.model.UnitLayout;
import io.easycontext.runtime.optim.OptimizerMoments;
import io.easycontext.runtime.optim.zero.ShardedOptimizer;
import io.easycontext.runtime.optim.zero.Sharding;
import io.easycontext.runtime.parallel.ParallelConfig;
import io.easycontext.runtime.parallel.ParallelMode;
import io.easycontext.runtime.train.TrainConfig;

import java.util.Optional;

/**
 * Predicts the peak GPU memory of one rank of a training step from the model, the tokens a rank holds and the
 * parallel mode, following what the runtime allocates: bf16 parameters and gradients, fp32 master weights and
 * AdamW moments, one bf16 checkpoint per layer (the layer input), and — in the backward of a layer — the most its
 * recompute and backward hold at once (each tensor lives until the last op that reads it). The single-GPU figures
 * were checked against the pool's measured peak (benchmarks.md: 36.6 GiB and 46.1 GiB on an H200, both within 1%;
 * those runs predate the chunked MLP recompute, which they match with one chunk of all tokens, and the backward's
 * early frees, which took one {@code [tokens, hidden]} tensor off their peak). The layer's working set is checked
 * byte for byte against what a layer allocates (DecoderLayerMemoryTest, counted as the pool counts). The
 * sequence-parallel buffers follow the code of the ring and Ulysses ops but have not been measured on GPUs yet.
 *
 * <p>With the optimizer sharded (ZeRO stage 1) a rank keeps master weights and moments for its shard only, 12 bytes
 * per parameter of the {@code 1/W} shard (8 with {@code --optimizer-moments bf16}); offloaded, they move to host memory and the device keeps the staging of
 * the chunked update (gpu_stream) or nothing (cpu). Parameters and gradients stay whole on every rank. Stage 2 keeps
 * the gradients of its shard ({@link UnitLayout}) plus the whole-unit buffers the backward accumulates into before
 * each unit's reduce-scatter: at the peak, the last layer's (and a tied embedding's, whose gradient waits from the
 * loss to the end of the backward); its parameters stay whole (each unit padded to a multiple of the ranks). Stage 3
 * keeps its value shard only, plus the gathered units: at the peak two decoder layers (the one computing and the one
 * gathered ahead), or around the loss the output projection, the final norm and the last layer gathered ahead,
 * whichever is more.
 */
public final class MemoryPlanner {
    private static final int BF16 = 2;
    private static final int FP32 = 4;
    /** cuBLAS workspace, taken from the pool. */
    private static final long WORKSPACE = 32L << 20;

    private MemoryPlanner() {
    }

    /** {@link #estimate(LlamaConfig, long, ParallelMode, int, int, int, Sharding, int)} with the state replicated. */
    public static MemoryEstimate estimate(LlamaConfig c, long localTokens, ParallelMode mode, int ulyssesDegree,
                                          int lossChunkTokens, int mlpChunkTokens) {
        return estimate(c, localTokens, mode, ulyssesDegree, lossChunkTokens, mlpChunkTokens, Sharding.REPLICATED, 1);
    }

    /**
     * @param localTokens     tokens one rank processes in a micro-step (sequence length / sequence-parallel
     *                        degree, times the per-rank batch)
     * @param lossChunkTokens tokens per chunk of the fused cross-entropy
     * @param mlpChunkTokens  tokens per chunk of the MLP recomputed in the backward
     * @param sharding        where the AdamW state lives
     * @param worldSize       the ranks a sharded state is cut over
     */
    public static MemoryEstimate estimate(LlamaConfig c, long localTokens, ParallelMode mode, int ulyssesDegree,
                                          int lossChunkTokens, int mlpChunkTokens, Sharding sharding, int worldSize) {
        return estimate(c, localTokens, mode, ulyssesDegree, lossChunkTokens, mlpChunkTokens, sharding, worldSize, 0);
    }

    /**
     * As above, with {@code offloadedCheckpoints} layers parking their checkpoint in host memory: the device then
     * holds the other layers' checkpoints and, in the backward, at most two parked ones (the one in use and the one
     * fetched ahead).
     */
    public static MemoryEstimate estimate(LlamaConfig c, long localTokens, ParallelMode mode, int ulyssesDegree,
                                          int lossChunkTokens, int mlpChunkTokens, Sharding sharding, int worldSize,
                                          int offloadedCheckpoints) {
        return estimate(c, localTokens, mode, ulyssesDegree, lossChunkTokens, mlpChunkTokens, sharding, worldSize,
                offloadedCheckpoints, OptimizerMoments.FP32);
    }

    /** As above, with the AdamW moments kept in {@code moments} (fp32: 8 bytes a parameter; bf16: 4). */
    public static MemoryEstimate estimate(LlamaConfig c, long localTokens, ParallelMode mode, int ulyssesDegree,
                                          int lossChunkTokens, int mlpChunkTokens, Sharding sharding, int worldSize,
                                          int offloadedCheckpoints, OptimizerMoments moments) {
        long params = c.parameterCount();
        long n = localTokens;
        long m = Math.min(mlpChunkTokens, n);
        long h = c.hiddenSize();
        long f = c.intermediateSize();
        long qd = c.qDim();
        long kvd = c.kvDim();
        // A layer's recomputed forward keeps n1, q, k, v, attention output, h, n2; its MLP's gate, up and act
        // exist for one chunk of tokens at a time. DecoderLayer.backward then frees each tensor after the last op
        // that reads it, so the working set is the largest of its phases:
        long recomputed = n * (3 * h + 2 * qd + 2 * kvd) * BF16;
        // 1. The MLP's backward: all of the recomputed, dNormed (∂L/∂n2), and the chunk's gate, up, act, dAct,
        //    dGate, dUp. (The post-attention norm's backward after it holds less: n2 and the chunk gone, dBranch.)
        long mlpBackward = recomputed + (n * h + m * 6 * f) * BF16;
        // 2. The attention's backward: h, n2 and the MLP's gradients gone; n1, q, k, v and the attention output
        //    beside dAttnOut, dq, dk, dv and the fp32 dQ accumulator of Backend.attentionBackward.
        long attentionBackward = n * (h + 4 * qd + 4 * kvd) * BF16 + n * qd * FP32;
        // 3. The q, k, v projections' backward: q, k, v, the output, dAttnOut gone; n1, dq, dk, dv and dNormed
        //    (∂L/∂n1). (Then the input norm's backward: dNormed and dBranch.) Below 2 for Llama's shapes.
        long projectionBackward = n * (2 * h + qd + 2 * kvd) * BF16;
        long working = Math.max(mlpBackward, Math.max(attentionBackward, projectionBackward));
        // lse kept from the forward, and delta in the backward: fp32 per head and token.
        long attentionScratch = 2L * c.numAttentionHeads() * n * FP32;
        long checkpoint = n * h * BF16;
        int parked = Math.min(offloadedCheckpoints, c.numHiddenLayers());
        long checkpoints = (c.numHiddenLayers() - parked + Math.min(parked, 2)) * checkpoint;
        long other = n * h * BF16                                   // the residual gradient
                + (long) Math.min(lossChunkTokens, n) * c.vocabSize() * BF16
                + WORKSPACE;
        OptimizerState state = optimizerState(c, sharding, worldSize, moments);
        return new MemoryEstimate(parameterBytes(c, sharding, worldSize), gradientBytes(c, sharding, worldSize),
                state.master(), state.moments(), checkpoints, working, attentionScratch,
                communication(c, n, mode, ulyssesDegree), other, state.host() + parked * checkpoint, moments);
    }

    /**
     * Stages 0 to 2: every parameter (unit-padded under stage 2). Stage 3: the value shard and the gathered units
     * at their most: two layers, or the largest other unit (with the final norm) beside the layer gathered ahead.
     */
    static long parameterBytes(LlamaConfig c, Sharding sharding, int worldSize) {
        if (!sharding.shardsGradients()) {
            return c.parameterCount() * BF16;
        }
        UnitLayout units = UnitLayout.of(c, worldSize);
        if (!sharding.shardsParameters()) {
            return units.size() * BF16;
        }
        long layer = units.largestLayer();
        long outer = Math.max(units.unit(units.embedding()).size(),
                units.unit(units.lmHead()).size() + units.unit(units.norm()).size());
        return (units.shardSize() + layer + Math.max(layer, outer)) * BF16;
    }

    /**
     * Stages 0 and 1: every parameter's gradient. Stages 2 and 3: the gradient shard, and the whole-unit buffers of
     * the backward's peak: the layer's, with a tied embedding's beside it.
     */
    static long gradientBytes(LlamaConfig c, Sharding sharding, int worldSize) {
        if (!sharding.shardsGradients()) {
            return c.parameterCount() * BF16;
        }
        UnitLayout units = UnitLayout.of(c, worldSize);
        long buffers = units.largestLayer() + (c.tieWordEmbeddings() ? units.unit(units.embedding()).size() : 0);
        return (units.shardSize() + buffers) * BF16;
    }

    /** The estimate of a training run as the trainer runs it: its layout, tokens per rank and memory options. */
    public static MemoryEstimate estimate(TrainConfig config) {
        return estimate(config, new MemoryOptions(config.sharding(), config.offloadedCheckpoints()));
    }

    /** {@link #estimate(TrainConfig)} with other memory options. */
    public static MemoryEstimate estimate(TrainConfig config, MemoryOptions options) {
        ParallelConfig parallel = config.parallel();
        LlamaModel.Options chunks = LlamaModel.Options.DEFAULTS;
        return estimate(config.model(), localTokens(config), parallel.mode(), parallel.ulyssesDegree(),
                chunks.lossChunkTokens(), chunks.mlpChunkTokens(), options.sharding(), parallel.worldSize(),
                config.activationCheckpointing() ? options.offloadedCheckpoints() : 0, config.optimizerMoments());
    }

    /**
     * The tokens one rank processes in a micro-step: a sequence-parallel group splits each sequence, and a rank
     * holds its share of the per-group batch.
     */
    public static long localTokens(TrainConfig config) {
        return (long) config.seqLength() / config.parallel().spDegree() * config.batchSize();
    }

    /** Options that fit, with their estimate. */
    public record Choice(MemoryOptions options, MemoryEstimate estimate) {
    }

    /**
     * The share of a rank's memory a chosen configuration may be predicted to fill: measured peaks came out up to
     * 2.3% above the prediction (benchmarks.md), and a run that fails at its first step costs more than a slower one.
     */
    public static final double CHOICE_HEADROOM = 0.97;

    /**
     * The cheapest memory options (see {@link MemoryOptions#byCost}) under which a rank's predicted peak fits
     * {@link #CHOICE_HEADROOM} of {@code deviceBytes} and the node's ranks together hold at most {@code hostBytes} of
     * host memory; empty where none does. Without activation checkpointing only the optimizer state can move. The
     * moments keep the run's type ({@code --optimizer-moments}): bf16 moments change the numbers, so they are never
     * chosen for the user, only planned with where the user chose them.
     */
    public static Optional<Choice> choose(TrainConfig config, long deviceBytes, long hostBytes) {
        ParallelConfig parallel = config.parallel();
        LlamaModel.Options chunks = LlamaModel.Options.DEFAULTS;
        return choose(config.model(), localTokens(config), parallel.mode(), parallel.ulyssesDegree(), chunks.lossChunkTokens(), chunks.mlpChunkTokens(),
                parallel.worldSize(), config.activationCheckpointing(), deviceBytes, hostBytes,
                config.optimizerMoments());
    }

    /** {@link #choose(TrainConfig, long, long)} from the planner's own inputs (see {@link #estimate}). */
    public static Optional<Choice> choose(LlamaConfig c, long localTokens, ParallelMode mode, int ulyssesDegree,
                                          int lossChunkTokens, int mlpChunkTokens, int worldSize,
                                          boolean checkpointing, long deviceBytes, long hostBytes) {
        return choose(c, localTokens, mode, ulyssesDegree, lossChunkTokens, mlpChunkTokens, worldSize, checkpointing,
                deviceBytes, hostBytes, OptimizerMoments.FP32);
    }

    /** As above, with the AdamW moments kept in {@code moments}, which no choice changes. */
    public static Optional<Choice> choose(LlamaConfig c, long localTokens, ParallelMode mode, int ulyssesDegree,
                                          int lossChunkTokens, int mlpChunkTokens, int worldSize,
                                          boolean checkpointing, long deviceBytes, long hostBytes,
                                          OptimizerMoments moments) {
        for (MemoryOptions o : MemoryOptions.byCost(worldSize, checkpointing ? c.numHiddenLayers() : 0)) {
            MemoryEstimate e = estimate(c, localTokens, mode, ulyssesDegree, lossChunkTokens, mlpChunkTokens,
                    o.sharding(), worldSize, o.offloadedCheckpoints(), moments);
            if (e.total() <= deviceBytes * CHOICE_HEADROOM && e.hostMemory() * worldSize <= hostBytes) {
                return Optional.of(new Choice(o, e));
            }
        }
        return Optional.empty();
    }

    /** Device bytes of master weights and of moments, and host bytes, of one rank's AdamW state. */
    record OptimizerState(long master, long moments, long host) {
    }

    /**
     * Replicated: all parameters' state. Sharded: the shard's ({@link FlatLayout} under stage 1, {@link UnitLayout}
     * under stages 2 and 3, alignment padding included).
     * Offloaded: the shard's state in host memory, plus the pinned staging of the bf16 gradients and values that the
     * cpu update copies, while the device holds the gpu_stream update's chunks of master weights and moments, or
     * nothing: {@link ShardedOptimizer#CHUNKS_IN_FLIGHT} chunks either way. Master weights are fp32; each moment
     * takes {@link OptimizerMoments#bytes()} (4 for fp32, 2 for bf16), wherever it lives and in the staging too.
     */
    static OptimizerState optimizerState(LlamaConfig c, Sharding sharding, int worldSize, OptimizerMoments type) {
        long moment = type.bytes();
        if (!sharding.sharded()) {
            long p = c.parameterCount();
            return new OptimizerState(p * FP32, 2 * p * moment, 0);
        }
        long shard = sharding.shardsGradients() ? UnitLayout.of(c, worldSize).shardSize()
                : FlatLayout.of(LlamaWeights.layout(c), worldSize).shardSize();
        long staging = ShardedOptimizer.CHUNKS_IN_FLIGHT * (long) Math.min(ShardedOptimizer.DEFAULT_CHUNK_ELEMENTS, shard);
        return switch (sharding.offload()) {
            case NONE -> new OptimizerState(shard * FP32, 2 * shard * moment, 0);
            case GPU_STREAM -> new OptimizerState(staging * FP32, 2 * staging * moment, shard * (FP32 + 2 * moment));
            case CPU -> new OptimizerState(0, 0, shard * (FP32 + 2 * moment) + staging * 2 * BF16);
        };
    }

    /**
     * Buffers the sequence-parallel ops hold beside the layer's own tensors: a ring keeps the key/value block in
     * flight and the next one (and in the backward their dK/dV accumulators); Ulysses holds the head-sharded
     * copies of q, k, v and the output; DistFlashAttn holds two sets of fetched blocks (one in flight) and partials.
     */
    static long communication(LlamaConfig c, long n, ParallelMode mode, int ulyssesDegree) {
        long kv = 2 * n * c.kvDim() * BF16;
        long q = n * c.qDim() * BF16;
        long partial = q + (long) c.numAttentionHeads() * n * FP32;
        return switch (mode) {
            case DATA_PARALLEL -> 0;
            case RING_ATTN, ZIGZAG_RING_ATTN -> 2 * kv + 2 * kv + partial;
            case ULYSSES_ATTN -> 2 * q + kv;
            // Two sets of fetch buffers (one in flight), in the backward q, dOut and out beside k and v; the partials.
            case DIST_FLASH_ATTN -> 2 * (kv + 3 * q) + kv + q + 2 * partial;
            case USP_ATTN -> (2 * q + kv) + (2 * kv + 2 * kv + partial) / Math.max(1, ulyssesDegree);
        };
    }
}
