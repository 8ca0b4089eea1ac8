package io.easycontext.runtime.model;

import io.easycontext.runtime.backend.cpu.TrackingBackend;
import io.easycontext.runtime.comm.InProcessRanks;
import io.easycontext.runtime.optim.OptimizerMoments;
import io.easycontext.runtime.optim.zero.Sharding;
import io.easycontext.runtime.parallel.ParallelConfig;
import io.easycontext.runtime.parallel.ParallelMode;
import io.easycontext.runtime.parallel.ParallelRank;
import io.easycontext.runtime.parallel.RingBlocks;
import io.easycontext.runtime.plan.MemoryEstimate;
import io.easycontext.runtime.plan.MemoryOptions;
import io.easycontext.runtime.plan.MemoryPlanner;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What a decoder layer's recompute and backward hold at most on each rank of every sequence-parallel mode, counted as
 * the CUDA pool would (DecoderLayerMemoryTest's single-rank check, with a TrackingBackend per rank), against the
 * planner: the most any rank holds is the planner's working set, attention scratch and sequence-parallel buffers, byte
 * for byte, plus the norms' fp32 rstd ({@code [tokens]} each, too small to plan). Ranks with less work hold less
 * (ring_attn's first ranks); so do dist_flash_attn's owners at two ranks, whose half blocks use idle buffers. A layer
 * whose attention is kept does the same beside what its forward kept, which the planner counts apart: its
 * recomputation's rebind (Ulysses' all-to-alls into new head shards) holds no more than the backward after it.
 */
class SequenceParallelMemoryTest {

    /** GQA, and multi-head as Llama-2-7B (hidden = q = kv features). */
    private static final LlamaConfig GQA = LlamaConfig.of(64, 176, 1, 8, 4, 32);
    private static final LlamaConfig MHA = LlamaConfig.of(64, 176, 1, 8, 8, 32);
    private static final int LOCAL = 32;

    record Case(LlamaConfig model, ParallelConfig parallel, int batch, int mlpChunkTokens, boolean keptAttention,
                int local) {
        Case(LlamaConfig model, ParallelConfig parallel, int batch, int mlpChunkTokens, boolean keptAttention) {
            this(model, parallel, batch, mlpChunkTokens, keptAttention, LOCAL);
        }

        Case(LlamaConfig model, ParallelConfig parallel, int batch, int mlpChunkTokens) {
            this(model, parallel, batch, mlpChunkTokens, false);
        }

        @Override
        public String toString() {
            return (model == GQA ? "gqa " : "mha ") + parallel + ", batch " + batch + ", mlp chunk " + mlpChunkTokens
                    + (keptAttention ? ", attention kept" : "")
                    + (local == LOCAL ? "" : ", " + local + " tokens a rank");
        }
    }

    /** One device, and every sequence-parallel mode at two and four ranks (usp_attn split each way). */
    static final List<ParallelConfig> LAYOUTS = List.of(
            ParallelConfig.resolve(ParallelMode.DATA_PARALLEL, 1, 0, 0, 0),
            ParallelConfig.resolve(ParallelMode.RING_ATTN, 2, 0, 0, 0),
            ParallelConfig.resolve(ParallelMode.RING_ATTN, 4, 0, 0, 0),
            ParallelConfig.resolve(ParallelMode.ZIGZAG_RING_ATTN, 2, 0, 0, 0),
            ParallelConfig.resolve(ParallelMode.ZIGZAG_RING_ATTN, 4, 0, 0, 0),
            ParallelConfig.resolve(ParallelMode.ULYSSES_ATTN, 2, 0, 0, 0),
            ParallelConfig.resolve(ParallelMode.ULYSSES_ATTN, 4, 0, 0, 0),
            ParallelConfig.resolve(ParallelMode.DIST_FLASH_ATTN, 2, 0, 0, 0),
            ParallelConfig.resolve(ParallelMode.DIST_FLASH_ATTN, 4, 0, 0, 0),
            ParallelConfig.resolve(ParallelMode.USP_ATTN, 2, 0, 1, 2),
            ParallelConfig.resolve(ParallelMode.USP_ATTN, 2, 0, 2, 1),
            ParallelConfig.resolve(ParallelMode.USP_ATTN, 4, 0, 2, 2));

    static Stream<Case> cases() {
        Stream.Builder<Case> all = Stream.builder();
        for (LlamaConfig model : List.of(GQA, MHA)) {
            for (ParallelConfig p : LAYOUTS) {
                // MLP chunks of 2 tokens: the attention backward sets the peak, as for Llama at long context.
                all.add(new Case(model, p, 1, 2));
                all.add(new Case(model, p, 2, 2));
            }
        }
        // One chunk of all tokens: the MLP backward sets the peak, beside the attention's state.
        for (ParallelConfig p : LAYOUTS) {
            all.add(new Case(GQA, p, 1, LOCAL));
        }
        // The attention kept: either phase sets the peak again, beside what the forward kept.
        for (ParallelConfig p : LAYOUTS) {
            all.add(new Case(GQA, p, 1, 2, true));
            all.add(new Case(GQA, p, 1, LOCAL, true));
        }
        // Chunks of odd length, which dist_flash_attn's last step does not split by query rows.
        for (int w : new int[] {2, 4}) {
            ParallelConfig p = ParallelConfig.resolve(ParallelMode.DIST_FLASH_ATTN, w, 0, 0, 0);
            all.add(new Case(GQA, p, 1, 2, false, LOCAL - 1));
            all.add(new Case(MHA, p, 2, 2, false, LOCAL - 1));
        }
        return all.build();
    }

    /**
     * Each rank's peak beyond what it held before the recompute (the layer's input and ∂L/∂y, and where the
     * attention is kept, what the forward kept).
     */
    static long[] measured(Case c) {
        return measuredWithKept(c).stream().mapToLong(m -> m[0]).toArray();
    }

    /** Per rank: the peak as {@link #measured}, and the bytes the forward kept. */
    static List<long[]> measuredWithKept(Case c) {
        ParallelConfig config = c.parallel();
        int seq = c.local() * config.spDegree();
        LlamaConfig model = c.model();
        return InProcessRanks.run(config.worldSize(), Duration.ofSeconds(60), comm -> {
            // Statistics in F64 so that they count 4 bytes an element and activations 2, as on the GPU.
            TrackingBackend b = new TrackingBackend(DType.F32, DType.F64);
            ParallelRank rank = ParallelRank.create(b.communicator(comm), config, seq);
            SplittableRandom rng = new SplittableRandom(3 + comm.rank());
            LlamaWeights w = LlamaWeights.initialize(b, model, 1);
            Tensor positions = b.allocate(DType.I32, c.batch(), c.local());
            b.uploadInts(positions, rank.positionIds(c.batch()));
            float[] inv = Rotary.inverseFrequencies(model);
            Tensor invFreq = b.allocate(DType.F32, inv.length);
            b.upload(invFreq, inv);
            DecoderLayer.Step s = new DecoderLayer.Step(b, model, c.batch(), c.local(), positions, invFreq,
                    rank.attention(), c.mlpChunkTokens());
            int n = c.batch() * c.local();
            Tensor x = DecoderLayerMemoryTest.random(b, rng, n, model.hiddenSize());
            Tensor dResidual = DecoderLayerMemoryTest.random(b, rng, n, model.hiddenSize());
            long start = b.liveBytes();
            DecoderLayer.KeptAttention kept = null;
            if (c.keptAttention()) {
                try (Tensor y = s.floats(n, model.hiddenSize())) {
                    kept = DecoderLayer.forward(s, w.layer(0), x, y, false).keepAttention(s);
                }
            }
            long before = b.liveBytes();
            b.resetPeakDeviceBytes();
            try (DecoderLayer.Activations a = DecoderLayer.forward(s, w.layer(0), x, null, false, kept)) {
                DecoderLayer.backward(s, w.layer(0), a, dResidual);
            }
            assertThat(b.liveBytes()).as("everything the layer allocated is closed").isEqualTo(start);
            return new long[] {b.peakDeviceBytes() - before, before - start};
        });
    }

    static MemoryEstimate planned(Case c) {
        return MemoryPlanner.estimate(c.model(), (long) c.batch() * c.local(), c.parallel(), c.batch(), 1024,
                c.mlpChunkTokens(), new MemoryOptions(Sharding.REPLICATED, 0, c.keptAttention() ? 1 : 0),
                OptimizerMoments.FP32);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void theMostARankHoldsIsThePlannersWorkingSetScratchAndBuffers(Case c) {
        long n = (long) c.batch() * c.local();
        MemoryEstimate e = planned(c);
        // rstd1 lives to the layer's end; rstd2 only to the post-attention norm's backward, after the MLP's.
        boolean mlpPeak = c.mlpChunkTokens() == c.local();
        long rstd = 4 * n * (mlpPeak ? 2 : 1);
        long most = 0;
        for (long[] rank : measuredWithKept(c)) {
            most = Math.max(most, rank[0]);
            assertThat(rank[1]).as("what the forward kept").isEqualTo(e.keptAttention());
        }
        assertThat(most).isEqualTo(e.layerWorkingSet() + e.attentionScratch() + e.communication() + rstd);
        long h = c.model().hiddenSize();
        long qd = c.model().qDim();
        long kvd = c.model().kvDim();
        // Ulysses keeps head-sharded copies of q, k, v, so the layer frees its own after the forward.
        ParallelMode mode = c.parallel().mode();
        long inputs = mode == ParallelMode.ULYSSES_ATTN || mode == ParallelMode.USP_ATTN ? n * (qd + 2 * kvd) * 2 : 0;
        // A kept attention output is counted with the kept ones, beside the lse: [tokens, heads] fp32.
        long out = c.keptAttention() ? n * qd * 2 : 0;
        assertThat(e.keptAttention()).isEqualTo(c.keptAttention() ? out + n * c.model().numAttentionHeads() * 4 : 0);
        long mlpChunk = (long) c.local() * 6 * c.model().intermediateSize() * 2;
        assertThat(e.layerWorkingSet()).as("the phase that sets the peak").isEqualTo(mlpPeak
                ? n * (4 * h + 2 * qd + 2 * kvd) * 2 + mlpChunk - inputs - out
                : n * (h + 4 * qd + 4 * kvd) * 2 - inputs - out);
    }

    /**
     * Zigzag over four ranks, Llama-2-7B's proportions (hidden = q = kv features), one sequence of 32 tokens a rank,
     * term by term: what the planner used to leave out here (chunk copies of q, k, v, out, dOut, zeroed dq and own
     * dK/dV chunks, a second dK/dV receive buffer) was 7 × q and more, as the 4-GPU runs measured. One kernel call a
     * chunk pair (the default), so a block is one chunk on either side.
     */
    @Test
    void zigzagOverFourRanksTermByTerm() {
        Case c = new Case(MHA, ParallelConfig.resolve(ParallelMode.ZIGZAG_RING_ATTN, 4, 0, 0, 0), 1, 2);
        long n = LOCAL;
        long q = n * 64 * 2;          // one [tokens, 64] bf16 tensor: q, and k, and v alike here
        long chunk = n / 2;           // a zigzag block: one of the rank's two chunks
        long model = 9 * q;           // n1, q, k, v, out, dAttnOut, dq, dk, dv
        long lse = 8 * n * 4;         // the forward's lse, fp32, kept per chunk
        long kvReceive = 2 * (2 * q); // k and v of the two blocks in hand and in flight
        long dkvSpare = 2 * q;        // where the dK/dV accumulator from the left neighbour lands
        long blockGrads = chunk * 3 * 64 * 2;      // the block's dq, dk, dv
        long kernel = chunk * (8 + 64) * 4;        // attentionBackward's fp32 delta and dQ accumulator, per block
        long rstd1 = n * 4;
        long[] peaks = measured(c);
        assertThat(peaks).containsOnly(model + lse + kvReceive + dkvSpare + blockGrads + kernel + rstd1);
        MemoryEstimate e = planned(c);
        assertThat(e.layerWorkingSet()).isEqualTo(model);
        assertThat(e.attentionScratch()).isEqualTo(lse + kernel);
        assertThat(e.communication()).isEqualTo(kvReceive + dkvSpare + blockGrads);
    }

    /**
     * The same with merged blocks ({@code -Deasycontext.ring.blocks=merged}): each step is one kernel call, step 0
     * causal over both chunks, straight into dq, dk, dv; later, both query chunks against the first key chunk of a
     * rank to the left, or the second query chunk against both key chunks of one to the right. The middle ranks have
     * both kinds, so their block buffers hold two chunks each of dq, dk and dv.
     */
    @Test
    void zigzagWithMergedBlocksOverFourRanksTermByTerm() {
        RingBlocks.with("merged", () -> {
            Case c = new Case(MHA, ParallelConfig.resolve(ParallelMode.ZIGZAG_RING_ATTN, 4, 0, 0, 0), 1, 2);
            long n = LOCAL;
            long q = n * 64 * 2;
            long chunk = n / 2;
            long model = 9 * q;
            long lse = 8 * n * 4;
            long kvReceive = 2 * (2 * q);
            long dkvSpare = 2 * q;
            long gathered = 8 * n * 4;    // both chunks' lse side by side for a block over both
            long kernel = n * (8 + 64) * 4;            // the kernel's fp32 scratch for both chunks
            long rstd1 = n * 4;
            long[] peaks = measured(c);
            long middle = model + lse + kvReceive + dkvSpare + gathered + 3 * q + kernel + rstd1;
            assertThat(peaks[1]).isEqualTo(middle);
            assertThat(peaks[2]).isEqualTo(middle);
            // Rank 0 only meets ranks to its right, rank 3 only ranks to its left: a chunk less of dq or dk, dv.
            assertThat(peaks[0]).isEqualTo(middle - chunk * 64 * 2 - chunk * (8 + 64) * 4);
            assertThat(peaks[3]).isEqualTo(middle - 2 * chunk * 64 * 2);
            MemoryEstimate e = planned(c);
            assertThat(e.layerWorkingSet()).isEqualTo(model);
            assertThat(e.attentionScratch()).isEqualTo(lse + kernel);
            assertThat(e.communication()).isEqualTo(kvReceive + dkvSpare + gathered + 3 * q);
        });
    }
}
