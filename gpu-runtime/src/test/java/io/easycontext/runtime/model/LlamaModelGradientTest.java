package io.easycontext.runtime.model;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.backend.cpu.Grad;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The whole model's backward against finite differences of its forward-only loss, in float64: a handful of random
 * entries of every parameter tensor, with and without activation checkpointing, with a loss chunk smaller than
 * the batch, and with a tied lm_head (whose gradient has two sources).
 */
class LlamaModelGradientTest {

    private static final int ENTRIES_PER_TENSOR = 3;

    @ParameterizedTest(name = "checkpointing={0} tied={1}")
    @CsvSource({"true, false", "false, false", "true, true"})
    void everyParameterGradientMatchesFiniteDifferencesOfTheMeanLoss(boolean checkpointing, boolean tied) {
        Backend cpu = Grad.f64();
        SplittableRandom rng = new SplittableRandom(3);
        LlamaConfig config = TinyModels.GRADIENT_CHECK.withTiedEmbeddings(tied);
        LlamaWeights weights = LlamaWeights.initialize(cpu, config, 42);
        TinyModels.randomizeNorms(weights, rng);
        LlamaModel model = new LlamaModel(weights, new LlamaModel.Options(checkpointing, 3));
        TinyModels.Batch batch = TinyModels.Batch.random(rng, config.vocabSize(), 2, 5);
        long count = batch.count();
        assertThat(count).isBetween(1L, 9L); // some targets are ignored

        double lossSum = batch.forwardBackward(cpu, model, count);
        assertThat(lossSum).isCloseTo(batch.loss(cpu, model), within(1e-12));

        for (Parameter p : weights.parameters()) {
            int[] entries = rng.ints(ENTRIES_PER_TENSOR, 0, (int) p.value().numel()).toArray();
            Grad.check(p.name(), p.value(), p.grad(), () -> batch.loss(cpu, model) / count, entries);
        }
    }
}
