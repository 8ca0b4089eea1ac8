package io.easycontext.runtime.model;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.backend.cpu.CpuBackend;
import io.easycontext.runtime.backend.cpu.Grad;
import io.easycontext.runtime.tensor.DType;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.IntFunction;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class LlamaModelTest {

    private final Backend f32 = new CpuBackend(DType.F32);
    private final Backend f64 = Grad.f64();
    private final SplittableRandom rng = new SplittableRandom(5);

    @Test
    void parametersCarryHuggingFaceNamesAndShapes() {
        LlamaConfig tiny = LlamaConfig.preset("tiny");
        LlamaWeights w = LlamaWeights.initialize(f32, tiny, 1);
        List<String> names = w.parameters().stream().map(Parameter::name).toList();
        assertThat(names).hasSize(1 + 9 * 2 + 2).startsWith("model.embed_tokens.weight",
                "model.layers.0.input_layernorm.weight", "model.layers.0.self_attn.q_proj.weight")
                .endsWith("model.norm.weight", "lm_head.weight");
        assertThat(w.get("model.layers.1.self_attn.k_proj.weight").value().shape()).containsExactly(32, 64);
        assertThat(w.get("model.layers.1.self_attn.o_proj.weight").value().shape()).containsExactly(64, 64);
        assertThat(w.get("model.layers.0.mlp.down_proj.weight").value().shape()).containsExactly(64, 128);
        long total = w.parameters().stream().mapToLong(p -> p.value().numel()).sum();
        assertThat(total).isEqualTo(tiny.parameterCount());

        LlamaWeights tied = LlamaWeights.initialize(f32, tiny.withTiedEmbeddings(true), 1);
        assertThat(tied.parameters()).hasSize(names.size() - 1);
        assertThat(tied.lmHead()).isSameAs(tied.embedding());
    }

    @Test
    void initializationIsReproduciblePerTensorAndFollowsTheInitializerRange() {
        LlamaConfig tiny = LlamaConfig.preset("tiny");
        LlamaWeights a = LlamaWeights.initialize(f32, tiny, 7);
        LlamaWeights b = LlamaWeights.initialize(f32, tiny.withLayers(1), 7);
        LlamaWeights c = LlamaWeights.initialize(f32, tiny, 8);
        String q = "model.layers.0.self_attn.q_proj.weight";
        double[] qa = f32.download(a.get(q).value());
        assertThat(f32.download(b.get(q).value())).as("independent of the layer count").containsExactly(qa);
        assertThat(f32.download(c.get(q).value())).as("another seed").isNotEqualTo(qa);
        assertThat(f32.download(a.get("model.norm.weight").value())).containsOnly(1.0);
        double variance = Arrays.stream(qa).map(x -> x * x).average().orElseThrow();
        assertThat(Math.sqrt(variance)).isCloseTo(0.02, within(0.001));
    }

    /**
     * The final norm makes the hidden state's RMS 1, so at init each logit is ~N(0, σ² = hidden·0.02²) and the
     * expected loss is about {@code ln(vocab) + σ²/2}; with ~400 targets the mean fluctuates by about σ/20.
     */
    @Test
    void untrainedModelPredictsNearlyUniformly() {
        LlamaConfig tiny = LlamaConfig.preset("tiny");
        LlamaModel model = new LlamaModel(LlamaWeights.initialize(f32, tiny, 1), LlamaModel.Options.DEFAULTS);
        TinyModels.Batch batch = TinyModels.Batch.random(rng, tiny.vocabSize(), 4, 128);
        double variance = tiny.hiddenSize() * 0.02 * 0.02;
        double mean = batch.loss(f32, model) / batch.count();
        assertThat(mean).isCloseTo(Math.log(tiny.vocabSize()) + variance / 2, within(3 * Math.sqrt(variance) / 20));
    }

    @Test
    void checkpointingAndParkingCheckpointsChangeMemoryNotGradients() {
        LlamaConfig tiny = LlamaConfig.preset("tiny");
        TinyModels.Batch batch = TinyModels.Batch.random(rng, tiny.vocabSize(), 2, 16);
        // Kept activations; checkpoints on the device; one layer's parked; every layer's parked.
        LlamaModel.Options[] options = {new LlamaModel.Options(false, 1024),
                new LlamaModel.Options(true, 1024), LlamaModel.Options.DEFAULTS.withOffloadedCheckpoints(1),
                LlamaModel.Options.DEFAULTS.withOffloadedCheckpoints(tiny.numHiddenLayers())};
        double[][] grads = new double[options.length][];
        double[] losses = new double[options.length];
        for (int i = 0; i < options.length; i++) {
            LlamaWeights w = LlamaWeights.initialize(f32, tiny, 1);
            LlamaModel model = new LlamaModel(w, options[i]);
            losses[i] = batch.forwardBackward(f32, model, batch.count());
            grads[i] = concatenatedGradients(f32, w);
        }
        for (int i = 1; i < options.length; i++) {
            assertThat(losses[i]).as("%s", options[i]).isEqualTo(losses[0]);
            // Bit for bit: the recomputation is the same arithmetic, and a parked tensor comes back unchanged.
            assertThat(grads[i]).as("%s", options[i]).containsExactly(grads[0]);
        }
        assertThatThrownBy(() -> new LlamaModel.Options(false, 1024, 4096, 1))
                .hasMessageContaining("offloadedCheckpoints must be 0, or positive with activation checkpointing");
        assertThat(Arrays.stream(grads[0]).map(Math::abs).max().orElseThrow()).isGreaterThan(1e-4);
    }

    @Test
    void theMlpChunkSizeChangesNothingButRounding() {
        // 14 tokens: one chunk, uneven chunks of 5 (5, 5, 4), and one token at a time.
        chunkingChangesNothingButRounding(new int[]{4096, 5, 1}, chunk -> new LlamaModel.Options(true, 1024, chunk),
                3, 1e-13);
    }

    @Test
    void theLossChunkSizeChangesNothingButRounding() {
        chunkingChangesNothingButRounding(new int[]{1024, 5, 1}, chunk -> new LlamaModel.Options(true, chunk), 2, 1e-14);
    }

    /** The loss and every gradient with each chunk size equal those with the first, within rounding (float64). */
    private void chunkingChangesNothingButRounding(int[] chunks, IntFunction<LlamaModel.Options> options, long seed,
                                                   double gradientTolerance) {
        LlamaConfig config = TinyModels.GRADIENT_CHECK;
        TinyModels.Batch batch = TinyModels.Batch.random(rng, config.vocabSize(), 2, 7);
        double[] reference = null;
        double referenceLoss = 0;
        for (int chunk : chunks) {
            LlamaWeights w = LlamaWeights.initialize(f64, config, seed);
            double loss = batch.forwardBackward(f64, new LlamaModel(w, options.apply(chunk)), batch.count());
            double[] g = concatenatedGradients(f64, w);
            if (reference == null) {
                reference = g;
                referenceLoss = loss;
            } else {
                assertThat(loss).isCloseTo(referenceLoss, within(1e-12));
                assertThat(g).containsExactly(reference, within(gradientTolerance));
            }
        }
    }

    @Test
    void sequencesOfABatchDoNotSeeEachOther() {
        LlamaConfig tiny = LlamaConfig.preset("tiny");
        LlamaModel model = new LlamaModel(LlamaWeights.initialize(f64, tiny, 3), LlamaModel.Options.DEFAULTS);
        TinyModels.Batch both = TinyModels.Batch.random(rng, tiny.vocabSize(), 2, 12);
        double separately = 0;
        for (int s = 0; s < 2; s++) {
            int[] ids = Arrays.copyOfRange(both.ids(), s * 12, s * 12 + 12);
            int[] pos = Arrays.copyOfRange(both.positions(), s * 12, s * 12 + 12);
            int[] tgt = Arrays.copyOfRange(both.targets(), s * 12, s * 12 + 12);
            separately += model.loss(f64, ids, pos, tgt, 1, LocalAttention.INSTANCE);
        }
        assertThat(both.loss(f64, model)).isCloseTo(separately, within(1e-10));
    }

    /** Causality: a token's loss may depend on earlier tokens only. */
    @Test
    void changingTheLastInputChangesOnlyTheLastTokensLoss() {
        LlamaConfig tiny = LlamaConfig.preset("tiny");
        LlamaModel model = new LlamaModel(LlamaWeights.initialize(f64, tiny, 3),
                LlamaModel.Options.DEFAULTS);
        int n = 10;
        int[] ids = rng.ints(n, 0, tiny.vocabSize()).toArray();
        int[] pos = java.util.stream.IntStream.range(0, n).toArray();
        int[] targets = rng.ints(n, 0, tiny.vocabSize()).toArray();
        int[] onlyLast = targets.clone();
        Arrays.fill(onlyLast, 0, n - 1, LlamaModel.IGNORE_INDEX);
        int[] allButLast = targets.clone();
        allButLast[n - 1] = LlamaModel.IGNORE_INDEX;

        double prefix = model.loss(f64, ids, pos, allButLast, 1, LocalAttention.INSTANCE);
        double last = model.loss(f64, ids, pos, onlyLast, 1, LocalAttention.INSTANCE);
        ids[n - 1] = (ids[n - 1] + 1) % tiny.vocabSize();
        assertThat(model.loss(f64, ids, pos, allButLast, 1, LocalAttention.INSTANCE)).isEqualTo(prefix);
        assertThat(model.loss(f64, ids, pos, onlyLast, 1, LocalAttention.INSTANCE)).isNotCloseTo(last, within(1e-6));
    }

    /** Rope is the only position signal and it is relative: a shard at its true global offset sees the same scores. */
    @Test
    void shiftingEveryPositionLeavesTheLossUnchangedButReorderingThemDoesNot() {
        LlamaConfig config = TinyModels.GRADIENT_CHECK;
        LlamaModel model = new LlamaModel(LlamaWeights.initialize(f64, config, 6), LlamaModel.Options.DEFAULTS);
        TinyModels.Batch batch = TinyModels.Batch.random(rng, config.vocabSize(), 1, 8);
        double loss = batch.loss(f64, model);
        int[] shifted = Arrays.stream(batch.positions()).map(p -> p + 5000).toArray();
        assertThat(model.loss(f64, batch.ids(), shifted, batch.targets(), 1, LocalAttention.INSTANCE))
                .isCloseTo(loss, within(1e-9));
        int[] stretched = Arrays.stream(batch.positions()).map(p -> 2 * p).toArray();
        assertThat(model.loss(f64, batch.ids(), stretched, batch.targets(), 1, LocalAttention.INSTANCE))
                .isNotCloseTo(loss, within(1e-4));
    }

    @Test
    void rejectsInputsThatDoNotFit() {
        LlamaModel model = new LlamaModel(LlamaWeights.initialize(f32, LlamaConfig.preset("tiny"), 1),
                LlamaModel.Options.DEFAULTS);
        int[] three = {1, 2, 3};
        assertThatThrownBy(() -> model.loss(f32, three, three, three, 2, LocalAttention.INSTANCE))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("batch of 2");
        assertThatThrownBy(() -> model.loss(f32, three, new int[]{0, 1}, three, 1, LocalAttention.INSTANCE))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("position ids");
        assertThatThrownBy(() -> model.forwardBackward(f32, three, three, three, 1, 0, LocalAttention.INSTANCE))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("globalTargetCount");
    }

    static double[] concatenatedGradients(Backend b, LlamaWeights w) {
        return w.parameters().stream().flatMapToDouble(p -> Arrays.stream(b.download(p.grad()))).toArray();
    }
}
