package io.easycontext.runtime.model;

import io.easycontext.runtime.backend.cpu.CpuBackend;
import io.easycontext.runtime.backend.cpu.TrackingBackend;
import io.easycontext.runtime.optim.OptimizerMoments;
import io.easycontext.runtime.optim.zero.Sharding;
import io.easycontext.runtime.parallel.ParallelConfig;
import io.easycontext.runtime.parallel.ParallelMode;
import io.easycontext.runtime.plan.MemoryEstimate;
import io.easycontext.runtime.plan.MemoryOptions;
import io.easycontext.runtime.plan.MemoryPlanner;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** The memory a decoder layer's recompute and backward hold, counted as the CUDA pool would, against the planner. */
class DecoderLayerMemoryTest {

    /** GQA (two query heads per kv head) and an MLP wider than attention, as in Llama. */
    private static final LlamaConfig CONFIG = LlamaConfig.of(64, 176, 1, 4, 2, 32);
    private static final int BATCH = 2;
    private static final int LENGTH = 64;

    /** The bytes a layer's recompute and backward (activation checkpointing) hold at most beyond its input. */
    private static long measuredWorkingSet(int mlpChunkTokens) {
        return measured(mlpChunkTokens, false).workingSet();
    }

    /**
     * What a layer's recompute and backward hold at most beyond what they found (its input and, where its attention
     * is kept, the attention output and lse that its forward kept), and what that forward kept.
     */
    private record Measured(long workingSet, long kept) {
    }

    private static Measured measured(int mlpChunkTokens, boolean keepAttention) {
        // Statistics in F64 so that they count 4 bytes an element and activations 2, as on the GPU.
        TrackingBackend b = new TrackingBackend(DType.F32, DType.F64);
        SplittableRandom rng = new SplittableRandom(3);
        LlamaWeights w = LlamaWeights.initialize(b, CONFIG, 1);
        int n = BATCH * LENGTH;
        Tensor positions = b.allocate(DType.I32, BATCH, LENGTH);
        int[] pos = new int[n];
        for (int i = 0; i < n; i++) {
            pos[i] = i % LENGTH;
        }
        b.uploadInts(positions, pos);
        float[] inv = Rotary.inverseFrequencies(CONFIG);
        Tensor invFreq = b.allocate(DType.F32, inv.length);
        b.upload(invFreq, inv);
        DecoderLayer.Step s = new DecoderLayer.Step(b, CONFIG, BATCH, LENGTH, positions, invFreq,
                LocalAttention.INSTANCE, mlpChunkTokens);
        Tensor x = random(b, rng, n, CONFIG.hiddenSize());
        Tensor dResidual = random(b, rng, n, CONFIG.hiddenSize());
        LlamaWeights.Layer layer = w.layer(0);
        long start = b.liveBytes();
        DecoderLayer.KeptAttention kept = null;
        try (Tensor y = s.floats(n, CONFIG.hiddenSize())) {
            DecoderLayer.Activations a = DecoderLayer.forward(s, layer, x, y, false);
            if (keepAttention) {
                kept = a.keepAttention(s);
            } else {
                a.close();
            }
        }

        long before = b.liveBytes();
        b.resetPeakDeviceBytes();
        try (DecoderLayer.Activations a = DecoderLayer.forward(s, layer, x, null, false, kept)) {
            DecoderLayer.backward(s, layer, a, dResidual);
        }
        assertThat(b.liveBytes()).as("everything the layer allocated is closed").isEqualTo(start);
        return new Measured(b.peakDeviceBytes() - before, before - start);
    }

    /** Values uniform in [−1, 1) in a fresh F32 [rows, cols] tensor. */
    static Tensor random(TrackingBackend b, SplittableRandom rng, int rows, int cols) {
        float[] values = new float[rows * cols];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) rng.nextDouble(-1, 1);
        }
        Tensor t = b.allocate(DType.F32, rows, cols);
        b.upload(t, values);
        return t;
    }

    private static MemoryEstimate planned(int mlpChunkTokens) {
        return MemoryPlanner.estimate(CONFIG, BATCH * LENGTH, ParallelMode.DATA_PARALLEL, 1, 1024, mlpChunkTokens);
    }

    /**
     * The planner's working set is the layer's measured peak but for what it counts elsewhere or leaves out: the
     * attention's lse (alive throughout) and, inside the attention backward only, the kernel's fp32 delta and dQ
     * accumulator, all in the planner's attention scratch; and the fp32 rstd of each norm ([tokens] each, too small
     * to plan).
     *
     * <p>Measured before the backward freed each tensor after its last reader (h, n2, dNormed and dBranch lived
     * through the attention backward, q, k, v and the attention output to the layer's end): 218,112 bytes at MLP
     * chunks of 8 tokens and 404,480 at one chunk, each then equal to the planner's formula of the time likewise.
     */
    @Test
    void theMeasuredPeakOfARecomputeAndBackwardIsThePlannersWorkingSet() {
        int n = BATCH * LENGTH;
        long lse = 4L * CONFIG.numAttentionHeads() * n;
        long delta = lse;
        long dqAccumulator = 4L * CONFIG.qDim() * n;
        long rstd = 4L * n;

        // Small MLP chunks: the attention backward sets the peak, with rstd1 (rstd2 is gone by then).
        MemoryEstimate small = planned(8);
        long attention = n * (CONFIG.hiddenSize() + 4L * CONFIG.qDim() + 4L * CONFIG.kvDim()) * 2;
        assertThat(small.layerWorkingSet()).isEqualTo(attention);
        assertThat(small.attentionScratch()).isEqualTo(lse + delta + dqAccumulator);
        assertThat(measuredWorkingSet(8)).isEqualTo(152_064).isEqualTo(small.layerWorkingSet() + lse + delta
                + dqAccumulator + rstd);

        // One chunk of all tokens: the MLP backward sets the peak, with both norms' rstd and no delta yet.
        MemoryEstimate whole = planned(n);
        long mlp = n * (4L * CONFIG.hiddenSize() + 2L * CONFIG.qDim() + 2L * CONFIG.kvDim()
                + 6L * CONFIG.intermediateSize()) * 2;
        assertThat(whole.layerWorkingSet()).isEqualTo(mlp);
        assertThat(whole.attentionScratch()).isEqualTo(lse);
        assertThat(measuredWorkingSet(n)).isEqualTo(388_096).isEqualTo(whole.layerWorkingSet() + lse + 2 * rstd);
    }

    /**
     * A layer whose forward kept its attention output and lse holds them through its recompute and backward as it
     * would have made them: the planner counts them with the kept ones, and the working set is the rest, byte for
     * byte. Its recompute runs no attention forward, whose buffers (held while the output and lse are) are below
     * the backward's.
     */
    @Test
    void aKeptAttentionOutputAndLseLeaveTheWorkingSetForTheKeptOnes() {
        int n = BATCH * LENGTH;
        long out = 2L * CONFIG.qDim() * n;
        long lse = 4L * CONFIG.numAttentionHeads() * n;
        long rstd = 4L * n;
        for (int chunk : new int[] {8, n}) {
            MemoryEstimate recomputed = planned(chunk, 0);
            MemoryEstimate kept = planned(chunk, 1);
            Measured m = measured(chunk, true);
            assertThat(m.kept()).isEqualTo(out + lse).isEqualTo(kept.keptAttention());
            assertThat(recomputed.keptAttention()).isZero();
            assertThat(kept.layerWorkingSet()).isEqualTo(recomputed.layerWorkingSet() - out);
            assertThat(kept.attentionScratch()).isEqualTo(recomputed.attentionScratch() - lse);
            assertThat(kept.total()).isEqualTo(recomputed.total());
            assertThat(m.workingSet()).as("MLP chunks of %d", chunk).isEqualTo(measuredWorkingSet(chunk) - out - lse)
                    .isEqualTo(kept.layerWorkingSet() + kept.attentionScratch() + rstd * (chunk == n ? 2 : 1));
        }
        // Every layer's kept: the layers before the last hold theirs through its backward.
        assertThat(planned(8, 5).total() - planned(8, 0).total()).isEqualTo(2 * (out + lse));
        assertThat(planned(8, 5).keptAttention()).isEqualTo(planned(8, 3).keptAttention()).isEqualTo(3 * (out + lse));
    }

    private static MemoryEstimate planned(int mlpChunkTokens, int keptAttentionLayers) {
        return MemoryPlanner.estimate(CONFIG.withLayers(3), BATCH * LENGTH,
                ParallelConfig.resolve(ParallelMode.DATA_PARALLEL, 1, 0, 0, 0), BATCH, 1024, mlpChunkTokens,
                new MemoryOptions(Sharding.REPLICATED, 0, keptAttentionLayers), OptimizerMoments.FP32);
    }

    /**
     * The whole model on a backend that fails on any use of a closed tensor trains bit for bit as on the plain CPU
     * backend, and returns every byte it allocated: nothing the backward frees early is read again.
     */
    @Test
    void freeingEachTensorAfterItsLastReaderChangesNoBitAndLeavesNothing() {
        LlamaConfig tiny = LlamaConfig.preset("tiny");
        TinyModels.Batch batch = TinyModels.Batch.random(new SplittableRandom(7), tiny.vocabSize(), 2, 16);
        LlamaModel.Options[] options = {new LlamaModel.Options(false, 1024), new LlamaModel.Options(true, 1024),
                new LlamaModel.Options(true, 7, 5), new LlamaModel.Options(false, 1024, 3),
                LlamaModel.Options.DEFAULTS.withOffloadedCheckpoints(1),
                LlamaModel.Options.DEFAULTS.withOffloadedCheckpoints(tiny.numHiddenLayers()),
                LlamaModel.Options.DEFAULTS.withKeptAttentionLayers(1),
                new LlamaModel.Options(true, 7, 5, 1, tiny.numHiddenLayers())};
        CpuBackend plain = new CpuBackend(DType.F32);
        TrackingBackend tracking = new TrackingBackend(DType.F32, DType.F32);
        for (LlamaModel.Options o : options) {
            LlamaWeights expected = LlamaWeights.initialize(plain, tiny, 1);
            double expectedLoss = batch.forwardBackward(plain, new LlamaModel(expected, o), batch.count());

            LlamaWeights w = LlamaWeights.initialize(tracking, tiny, 1);
            long before = tracking.liveBytes();
            double loss = batch.forwardBackward(tracking, new LlamaModel(w, o), batch.count());
            assertThat(tracking.liveBytes()).as("%s", o).isEqualTo(before);
            assertThat(loss).as("%s", o).isEqualTo(expectedLoss);
            for (int i = 0; i < w.parameters().size(); i++) {
                assertThat(tracking.download(w.parameters().get(i).grad())).as("%s", o)
                        .containsExactly(plain.download(expected.parameters().get(i).grad()));
            }
        }
    }
}
