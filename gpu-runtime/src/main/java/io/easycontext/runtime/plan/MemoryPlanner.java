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
import io.easycontext.runtime.parallel.RingSchedule;
import io.easycontext.runtime.parallel.TokenLayout;
import io.easycontext.runtime.train.TrainConfig;

import java.util.Optional;
import java.util.function.Function;

/**
 * Predicts the peak GPU memory of one rank of a training step from the model, the tokens a rank holds and the
 * parallel mode, following what the runtime allocates: bf16 parameters and gradients, fp32 master weights and
 * AdamW moments, one bf16 checkpoint per layer (the layer input), and — in the backward of a layer — the most its
 * recompute and backward hold at once (each tensor lives until the last op that reads it). The single-GPU figures
 * were checked against the pool's measured peak (benchmarks.md: 36.6 GiB and 46.1 GiB on an H200, both within 1%;
 * those runs predate the chunked MLP recompute, which they match with one chunk of all tokens, and the backward's
 * early frees, which took one {@code [tokens, hidden]} tensor off their peak). The layer's working set is checked
 * byte for byte against what a layer allocates (DecoderLayerMemoryTest, counted as the pool counts), and so are the
 * buffers every sequence-parallel mode adds at world sizes 2 and 4 (SequenceParallelMemoryTest). The first ring
 * measurements on GPUs (4 × H200, zigzag_ring_attn) found the planner of then 1.8 to 7.4 GiB low: the ring kept chunk
 * copies of q, k, v, out, dOut, dq and its dK/dV accumulators that it did not count; it no longer makes them.
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

    /**
     * As above, with the AdamW moments kept in {@code moments} (fp32: 8 bytes a parameter; bf16: 4). These overloads
     * know the mode but not the layout: they take the world as one sequence-parallel group ({@code worldSize /
     * ulyssesDegree} ring ranks) of one sequence per rank.
     */
    public static MemoryEstimate estimate(LlamaConfig c, long localTokens, ParallelMode mode, int ulyssesDegree,
                                          int lossChunkTokens, int mlpChunkTokens, Sharding sharding, int worldSize,
                                          int offloadedCheckpoints, OptimizerMoments moments) {
        return estimate(c, localTokens, layout(mode, ulyssesDegree, worldSize), 1, lossChunkTokens, mlpChunkTokens,
                sharding, offloadedCheckpoints, moments);
    }

    /** The layout the overloads without one assume: the world is one sequence-parallel group. */
    private static ParallelConfig layout(ParallelMode mode, int ulyssesDegree, int worldSize) {
        int u = mode == ParallelMode.ULYSSES_ATTN || mode == ParallelMode.USP_ATTN ? Math.max(1, ulyssesDegree) : 1;
        int ring = switch (mode) {
            case DATA_PARALLEL, ULYSSES_ATTN -> 1;
            default -> Math.max(1, worldSize / u);
        };
        int world = mode == ParallelMode.DATA_PARALLEL ? worldSize : u * ring;
        return new ParallelConfig(mode, Math.max(1, world), mode == ParallelMode.DATA_PARALLEL ? Math.max(1, world) : 1,
                u, ring);
    }

    /**
     * The estimate of one rank of {@code parallel} holding {@code batch} sequences of {@code localTokens / batch}
     * tokens each, with the state sharded over the whole world.
     */
    public static MemoryEstimate estimate(LlamaConfig c, long localTokens, ParallelConfig parallel, int batch,
                                          int lossChunkTokens, int mlpChunkTokens, Sharding sharding,
                                          int offloadedCheckpoints, OptimizerMoments moments) {
        return estimate(c, localTokens, parallel, batch, lossChunkTokens, mlpChunkTokens,
                new MemoryOptions(sharding, offloadedCheckpoints), moments);
    }

    /**
     * As above, under {@code options}, which may keep the attention of the last layers: each keeps its output and
     * its log-sum-exp from the forward to its backward. The last layer's are then no part of its working set,
     * which is otherwise the same: its recomputation rebinds them instead of running the attention, whose buffers
     * are below the backward's, and Ulysses' rebind makes the head shards of its state as the forward does.
     */
    public static MemoryEstimate estimate(LlamaConfig c, long localTokens, ParallelConfig parallel, int batch,
                                          int lossChunkTokens, int mlpChunkTokens, MemoryOptions options,
                                          OptimizerMoments moments) {
        Sharding sharding = options.sharding();
        long n = localTokens;
        long m = Math.min(mlpChunkTokens, n);
        long h = c.hiddenSize();
        long f = c.intermediateSize();
        long qd = c.qDim();
        long kvd = c.kvDim();
        // A layer's recomputed forward keeps n1, q, k, v, attention output, h, n2; its MLP's gate, up and act
        // exist for one chunk of tokens at a time. DecoderLayer.backward then frees each tensor after the last op
        // that reads it, so the working set is the largest of its phases, each with what the attention op holds
        // then (AttentionBuffers). q, k, v are kept only for an op that reads them in its backward; Ulysses keeps
        // head-sharded copies instead, and the forward frees the model's.
        AttentionBuffers attention = attentionBuffers(c, n, parallel, batch);
        long inputs = attention.readsInputs() ? n * (qd + 2 * kvd) * BF16 : 0;
        // The attention output and lse of a kept layer, the last one's among them.
        int keptLayers = Math.min(options.keptAttentionLayers(), c.numHiddenLayers());
        long keptOut = keptLayers > 0 ? n * qd * BF16 : 0;
        long lse = keptLayers > 0 ? 0 : attention.lse();
        long recomputed = n * (3 * h + qd) * BF16 + inputs - keptOut;
        // 1. The MLP's backward: all of the recomputed, dNormed (∂L/∂n2), and the chunk's gate, up, act, dAct,
        //    dGate, dUp; beside them the attention's state. (The post-attention norm's backward after it holds
        //    less: n2 and the chunk gone, dBranch.)
        long mlpBackward = recomputed + (n * h + m * 6 * f) * BF16;
        // 2. The attention's backward: h, n2 and the MLP's gradients gone; n1, q, k, v (if kept), the attention output
        //    beside dAttnOut, dq, dk, dv; the attention's state, its buffers and its kernel's fp32 scratch.
        long attentionBackward = n * (h + 3 * qd + 2 * kvd) * BF16 + inputs - keptOut;
        // 3. The q, k, v projections' backward: q, k, v, the output, dAttnOut and the state gone; n1, dq, dk, dv
        //    and dNormed (∂L/∂n1). (Then the input norm's backward: dNormed and dBranch.) Below 2 for Llama's shapes.
        long projectionBackward = n * (2 * h + qd + 2 * kvd) * BF16;
        long atMlp = mlpBackward + lse + attention.kept();
        long atAttention = attentionBackward + lse + attention.kept() + attention.backward() + attention.kernel();
        long working;
        long attentionScratch;
        long communication;
        if (atAttention >= Math.max(atMlp, projectionBackward)) {
            working = attentionBackward;
            attentionScratch = lse + attention.kernel();
            communication = attention.kept() + attention.backward();
        } else if (atMlp >= projectionBackward) {
            working = mlpBackward;
            attentionScratch = lse;
            communication = attention.kept();
        } else {
            working = projectionBackward;
            attentionScratch = 0;
            communication = 0;
        }
        long checkpoint = n * h * BF16;
        int parked = Math.min(options.offloadedCheckpoints(), c.numHiddenLayers());
        long checkpoints = (c.numHiddenLayers() - parked + Math.min(parked, 2)) * checkpoint;
        long keptAttention = keptLayers * (n * qd * BF16 + attention.lse());
        long other = n * h * BF16                                   // the residual gradient
                + (long) Math.min(lossChunkTokens, n) * c.vocabSize() * BF16
                + WORKSPACE;
        int worldSize = parallel.worldSize();
        OptimizerState state = optimizerState(c, sharding, worldSize, moments);
        return new MemoryEstimate(parameterBytes(c, sharding, worldSize), gradientBytes(c, sharding, worldSize),
                state.master(), state.moments(), checkpoints, keptAttention, working, attentionScratch, communication,
                other, state.host() + parked * checkpoint, moments);
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
        return estimate(config, new MemoryOptions(config.sharding(), config.offloadedCheckpoints(),
                config.keptAttentionLayers()));
    }

    /** {@link #estimate(TrainConfig)} with other memory options. */
    public static MemoryEstimate estimate(TrainConfig config, MemoryOptions options) {
        ParallelConfig parallel = config.parallel();
        LlamaModel.Options chunks = LlamaModel.Options.DEFAULTS;
        MemoryOptions planned = config.activationCheckpointing() ? options
                : new MemoryOptions(options.sharding(), 0, 0);
        return estimate(config.model(), localTokens(config), parallel, config.batchSize(), chunks.lossChunkTokens(),
                chunks.mlpChunkTokens(), planned, config.optimizerMoments());
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
     * host memory, and with them attention kept in as many layers as still fit (it costs memory, not time); empty
     * where none does. Without activation checkpointing only the optimizer state can move. The
     * moments keep the run's type ({@code --optimizer-moments}): bf16 moments change the numbers, so they are never
     * chosen for the user, only planned with where the user chose them.
     */
    public static Optional<Choice> choose(TrainConfig config, long deviceBytes, long hostBytes) {
        ParallelConfig parallel = config.parallel();
        LlamaModel.Options chunks = LlamaModel.Options.DEFAULTS;
        return choose(config.model(), localTokens(config), parallel, config.batchSize(), chunks.lossChunkTokens(),
                chunks.mlpChunkTokens(), config.activationCheckpointing(), deviceBytes, hostBytes,
                config.optimizerMoments());
    }

    /** {@link #choose(TrainConfig, long, long)} from the planner's own inputs (see {@link #estimate}). */
    public static Optional<Choice> choose(LlamaConfig c, long localTokens, ParallelMode mode, int ulyssesDegree,
                                          int lossChunkTokens, int mlpChunkTokens, int worldSize,
                                          boolean checkpointing, long deviceBytes, long hostBytes) {
        return choose(c, localTokens, mode, ulyssesDegree, lossChunkTokens, mlpChunkTokens, worldSize, checkpointing,
                deviceBytes, hostBytes, OptimizerMoments.FP32);
    }

    /**
     * As above, with the AdamW moments kept in {@code moments}, which no choice changes; the world is one
     * sequence-parallel group of one sequence per rank (see {@link #estimate(LlamaConfig, long, ParallelMode, int,
     * int, int, Sharding, int, int, OptimizerMoments)}).
     */
    public static Optional<Choice> choose(LlamaConfig c, long localTokens, ParallelMode mode, int ulyssesDegree,
                                          int lossChunkTokens, int mlpChunkTokens, int worldSize,
                                          boolean checkpointing, long deviceBytes, long hostBytes,
                                          OptimizerMoments moments) {
        return choose(c, localTokens, layout(mode, ulyssesDegree, worldSize), 1, lossChunkTokens, mlpChunkTokens,
                checkpointing, deviceBytes, hostBytes, moments);
    }

    /** As above, for one rank of {@code parallel} holding {@code batch} sequences. */
    public static Optional<Choice> choose(LlamaConfig c, long localTokens, ParallelConfig parallel, int batch,
                                          int lossChunkTokens, int mlpChunkTokens, boolean checkpointing,
                                          long deviceBytes, long hostBytes, OptimizerMoments moments) {
        int worldSize = parallel.worldSize();
        int layers = checkpointing ? c.numHiddenLayers() : 0;
        Function<MemoryOptions, Optional<Choice>> fit = o -> {
            MemoryEstimate e = estimate(c, localTokens, parallel, batch, lossChunkTokens, mlpChunkTokens, o, moments);
            return e.total() <= deviceBytes * CHOICE_HEADROOM && e.hostMemory() * worldSize <= hostBytes
                    ? Optional.of(new Choice(o, e)) : Optional.empty();
        };
        for (MemoryOptions cheapest : MemoryOptions.byCost(worldSize, layers)) {
            Optional<Choice> choice = fit.apply(cheapest);
            if (choice.isPresent()) {
                for (int kept = layers; kept > 0; kept--) {
                    Optional<Choice> keeping = fit.apply(cheapest.withKeptAttentionLayers(kept));
                    if (keeping.isPresent()) {
                        return keeping;
                    }
                }
                return choice;
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
     * What a rank's attention op holds beyond the model's q, k, v, out and their gradients, in bytes: {@code lse},
     * its fp32 log-sum-exp, and {@code kept}, the rest of its state, from the (re)computed forward to the end of its
     * backward; {@code backward}, its buffers at the peak of its backward; {@code kernel}, the fp32 delta and dQ
     * accumulator of the block it hands to {@code Backend.attentionBackward} at that peak (the largest, but for
     * dist_flash_attn over two ranks), alive while that runs;
     * {@code readsInputs}, whether the model must keep q, k, v for its backward
     * ({@code AttentionOp.readsInputsInBackward}).
     */
    record AttentionBuffers(long lse, long kept, long backward, long kernel, boolean readsInputs) {
        AttentionBuffers(long lse, long kept, long backward, long kernel) {
            this(lse, kept, backward, kernel, true);
        }
    }

    /**
     * {@link AttentionBuffers} of one rank of {@code parallel} holding {@code batch} sequences, {@code n} tokens in
     * all, as the modes allocate them (RingAttention, UlyssesAttention, DistFlashAttention).
     */
    static AttentionBuffers attentionBuffers(LlamaConfig c, long n, ParallelConfig parallel, int batch) {
        long hq = c.numAttentionHeads();
        long q = n * c.qDim() * BF16;
        long kv = 2 * n * c.kvDim() * BF16;
        long lse = hq * n * FP32;
        return switch (parallel.mode()) {
            case DATA_PARALLEL -> new AttentionBuffers(lse, 0, 0, kernel(c, n));
            case RING_ATTN, ZIGZAG_RING_ATTN -> ring(c, n, lse, parallel, batch);
            case ULYSSES_ATTN -> ulysses(q, kv, new AttentionBuffers(lse, 0, 0, kernel(c, n)));
            // The ring of the Ulysses heads: U times the tokens and 1/U of the heads are the same bytes.
            case USP_ATTN -> ulysses(q, kv, ring(c, n, lse, parallel, batch));
            case DIST_FLASH_ATTN -> distFlash(c, n, q, kv, lse, parallel.ringDegree(), batch);
            case AUTO -> throw new IllegalStateException("a layout is never auto");
        };
    }

    /**
     * dist_flash_attn's backward. Fetched: k, v, q, dOut, out and lse of a peer, one set a step; a second while one is
     * in flight, where the schedule has a second step. Partials: the dK, dV a peer returns (a helper's dq lands in the
     * block scratch). Block scratch: a block's dq, dk, dv, a whole shard's. The last step of an even world splits its
     * blocks by query rows where a sequence's local tokens split in two: its set holds half the query side, and is
     * that size where it is the set's first step (two or four ranks). The peak is a whole block's, with its kernel
     * scratch, at step 1; with two ranks, whose one step is the split one, it is the helper's half block: its dq is
     * half a shard's, and so is its kernel scratch (a whole shard's at the diagonal, when nothing else is held).
     * An owner's half uses its idle receive buffers and holds less.
     */
    private static AttentionBuffers distFlash(LlamaConfig c, long n, long q, long kv, long lse, int w, int batch) {
        int steps = w / 2;
        boolean split = w % 2 == 0 && (n / batch) % 2 == 0;
        long fetched = 0;
        for (int t = 1; t <= Math.min(2, steps); t++) {
            fetched += kv + (split && t == steps ? (3 * q + lse) / 2 : 3 * q + lse);
        }
        if (split && steps == 1) {
            return new AttentionBuffers(lse, 0, fetched + kv + (q / 2 + kv), kernel(c, n / 2));
        }
        return new AttentionBuffers(lse, 0, fetched + kv + (q + kv), kernel(c, n));
    }

    /**
     * The ring's backward at its peak on the rank that holds most ({@link RingSchedule} of each rank): the key/value
     * blocks in hand and in flight ({@code W − 1} receive buffers, at most two, the first allocated before step 0);
     * the one spare dK/dV accumulator set, from the first shift on (the other is the model's dk, dv; a ring of one has
     * nowhere to send them); the lse of a block over several chunks, gathered; and from the first block after a
     * direct step 0, the block buffers (dq for the most query chunks of a block, dk and dv for the most key chunks)
     * with the kernel scratch of its largest block. A direct step 0 needs only the kernel scratch of all the rank's
     * chunks. Chunks are of one sequence. The forward's blocks hold less: the same receive buffers, a block's out
     * and lse. The state keeps only lse, per chunk.
     */
    private static AttentionBuffers ring(LlamaConfig c, long n, long lse, ParallelConfig parallel, int batch) {
        int w = parallel.ringDegree();
        TokenLayout layout = new TokenLayout(2 * w, w, 1, parallel.zigzag());
        long kv = 2 * n * c.kvDim() * BF16;
        long firstReceive = w > 1 ? kv : 0;
        long receive = Math.min(2, w - 1) * kv;
        long spare = w > 1 ? kv : 0;
        AttentionBuffers most = new AttentionBuffers(lse, 0, 0, 0);
        for (int r = 0; r < w; r++) {
            RingSchedule plan = RingSchedule.of(layout, r, w);
            long chunk = n / batch / layout.ringChunks(r).length;
            long gathered = plan.queryChunks() > 1 ? plan.queryChunks() * chunk * c.numAttentionHeads() * FP32 : 0;
            if (plan.direct()) {
                most = larger(most, new AttentionBuffers(lse, 0, firstReceive + gathered,
                        kernel(c, plan.queryChunks() * chunk)));
            }
            if (plan.bufferedQueryChunks() > 0) {
                long block = chunk * (plan.bufferedQueryChunks() * c.qDim() + 2L * plan.bufferedKeyChunks() * c.kvDim())
                        * BF16;
                most = larger(most, new AttentionBuffers(lse, 0, receive + spare + gathered + block,
                        kernel(c, plan.bufferedQueryChunks() * chunk)));
            }
        }
        return most;
    }

    /** The one of {@code a} and {@code b} that holds more at the backward's peak; {@code a} where they tie. */
    private static AttentionBuffers larger(AttentionBuffers a, AttentionBuffers b) {
        return b.backward() + b.kernel() > a.backward() + a.kernel() ? b : a;
    }

    /**
     * Ulysses around {@code inner}: its state keeps the head-sharded q, k, v and output (the bytes of the model's,
     * whose q, k, v it lets the model free); its backward holds the head-sharded dOut, dq, dk, dv beside the inner
     * backward. That is its peak: after it the state and dOut's head shards are freed, and the all-to-alls that
     * return dk, dv, then dq hold at most the head shards of dq, dk, dv with the packed send and receive buffers
     * of one (NcclCommunicator), {@code max(q + 2·kv, 3·q)} with {@code kv ≤ 2·q}, below the {@code 4·q + 2·kv}
     * of the state and buffers at the inner backward.
     */
    private static AttentionBuffers ulysses(long q, long kv, AttentionBuffers inner) {
        long heads = 2 * q + kv;
        return new AttentionBuffers(inner.lse(), heads + inner.kept(), heads + inner.backward(), inner.kernel(),
                false);
    }

    /**
     * {@code Backend.attentionBackward}'s fp32 delta {@code [b, hq, t]} and dQ accumulator over {@code tokens}. The
     * CUDA backend's tiled Hopper kernel rounds the accumulator's rows up to 64: at most 63 rows more, under 1 MiB
     * at hidden 4096, which the plan leaves to the pool's headroom rather than tie itself to one kernel's layout.
     */
    private static long kernel(LlamaConfig c, long tokens) {
        return tokens * ((long) c.numAttentionHeads() + c.qDim()) * FP32;
    }
}
