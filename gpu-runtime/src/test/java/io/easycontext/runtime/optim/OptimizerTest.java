package io.easycontext.runtime.optim;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.backend.cpu.CpuBackend;
import io.easycontext.runtime.backend.cpu.Grad;
import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.model.LlamaModel;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.model.Parameter;
import io.easycontext.runtime.model.TinyModels;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class OptimizerTest {

    private final Backend f32 = new CpuBackend(DType.F32);
    private final Backend f64 = Grad.f64();
    private final SplittableRandom rng = new SplittableRandom(17);

    @Test
    void aFewAdamWStepsOnAFixedBatchReduceTheLoss() {
        LlamaConfig tiny = LlamaConfig.preset("tiny");
        LlamaWeights w = LlamaWeights.initialize(f32, tiny, 1);
        LlamaModel model = new LlamaModel(w, LlamaModel.Options.DEFAULTS);
        TinyModels.Batch batch = TinyModels.Batch.random(rng, tiny.vocabSize(), 2, 32);
        try (Optimizer opt = new Optimizer(f32, w.parameters(), AdamW.Hyper.DEFAULTS,
                LrSchedule.warmupCosine(1e-2, 2, 8, 0.1), 1.0)) {
            double first = 0;
            double last = 0;
            for (int step = 1; step <= 8; step++) {
                last = batch.forwardBackward(f32, model, batch.count()) / batch.count();
                first = step == 1 ? last : first;
                Optimizer.Update u = opt.step(f32);
                assertThat(u.step()).isEqualTo(step);
                assertThat(u.gradNorm()).isPositive();
            }
            assertThat(first).isCloseTo(Math.log(tiny.vocabSize()), within(0.1));
            assertThat(batch.loss(f32, model) / batch.count()).isLessThan(last).isLessThan(first - 1.0);
        }
    }

    /** Two micro-batches normalised by their joint target count are one batch of two sequences. */
    @Test
    void accumulatingTwoMicroBatchesEqualsOneBatchOfTwo() {
        LlamaConfig config = TinyModels.GRADIENT_CHECK;
        TinyModels.Batch both = TinyModels.Batch.random(rng, config.vocabSize(), 2, 6);
        TinyModels.Batch[] halves = new TinyModels.Batch[2];
        for (int s = 0; s < 2; s++) {
            halves[s] = new TinyModels.Batch(Arrays.copyOfRange(both.ids(), 6 * s, 6 * s + 6),
                    Arrays.copyOfRange(both.positions(), 6 * s, 6 * s + 6),
                    Arrays.copyOfRange(both.targets(), 6 * s, 6 * s + 6), 1);
        }

        LlamaWeights whole = LlamaWeights.initialize(f64, config, 4);
        LlamaModel wholeModel = new LlamaModel(whole, LlamaModel.Options.DEFAULTS);
        double wholeLoss = both.forwardBackward(f64, wholeModel, both.count());

        LlamaWeights accumulated = LlamaWeights.initialize(f64, config, 4);
        LlamaModel accumulatedModel = new LlamaModel(accumulated, LlamaModel.Options.DEFAULTS);
        long count = halves[0].count() + halves[1].count();
        assertThat(count).isEqualTo(both.count());
        assertThat(halves[0].count()).as("unequal halves make per-micro-batch means differ").isNotEqualTo(halves[1].count());
        double accumulatedLoss = halves[0].forwardBackward(f64, accumulatedModel, count)
                + halves[1].forwardBackward(f64, accumulatedModel, count);

        assertThat(accumulatedLoss).isCloseTo(wholeLoss, within(1e-12));
        for (Parameter p : whole.parameters()) {
            assertThat(f64.download(accumulated.get(p.name()).grad())).as(p.name())
                    .containsExactly(f64.download(p.grad()), within(1e-14));
        }
        for (LlamaWeights w : List.of(whole, accumulated)) {
            try (Optimizer opt = new Optimizer(f64, w.parameters(), AdamW.Hyper.DEFAULTS, LrSchedule.constant(1e-3), 1)) {
                opt.step(f64);
            }
        }
        for (Parameter p : whole.parameters()) {
            assertThat(f64.download(accumulated.get(p.name()).value())).as(p.name())
                    .containsExactly(f64.download(p.value()), within(1e-14));
            assertThat(f64.sumOfSquares(p.grad())).as("zeroed for the next step").isZero();
        }
    }

    @Test
    void clippingScalesTheGradientDownToTheMaximumNormAndNeverUp() {
        Tensor value = f64.zeros(DType.F64, 2, 2);
        Tensor grad = f64.allocate(DType.F64, 2, 2);
        f64.upload(grad, new float[]{3, 4, 12, 0}); // norm 13
        List<Parameter> params = List.of(new Parameter("w", value, grad));
        assertThat(GradientClipping.globalNorm(f64, params)).isCloseTo(13, within(1e-12));
        assertThat(GradientClipping.coefficient(13, 1) * 13).isCloseTo(1, within(1e-6));
        assertThat(GradientClipping.coefficient(0.5, 1)).isEqualTo(1);
        assertThat(GradientClipping.coefficient(13, 0)).as("disabled").isEqualTo(1);

        // With eps = 1 AdamW's first step is lr·g/(|g|+1): it sees the gradient's size, so the clip shows.
        AdamW.Hyper hyper = new AdamW.Hyper(0.9, 0.999, 1, 0);
        try (Optimizer opt = new Optimizer(f64, params, hyper, LrSchedule.constant(1), 1)) {
            Optimizer.Update u = opt.step(f64);
            assertThat(u.gradNorm()).isCloseTo(13, within(1e-12));
            double clipped = 12 * u.clipCoefficient();
            assertThat(clipped).isCloseTo(12.0 / 13, within(1e-6));
            assertThat(f64.download(value)[2]).isCloseTo(-clipped / (clipped + 1), within(1e-12));
        }
    }

    @Test
    void weightDecayShrinksMatricesButNotNormGains() {
        LlamaWeights w = LlamaWeights.initialize(f64, TinyModels.GRADIENT_CHECK, 1);
        Parameter matrix = w.get("model.layers.0.mlp.up_proj.weight");
        double before = f64.sumOfSquares(matrix.value());
        try (AdamW adamW = new AdamW(f64, w.parameters(), new AdamW.Hyper(0.9, 0.999, 1e-8, 0.1))) {
            adamW.step(f64, 0.5, 1); // zero gradients: only the decay acts
        }
        assertThat(f64.sumOfSquares(matrix.value())).isCloseTo(before * 0.95 * 0.95, within(1e-12));
        assertThat(f64.download(w.norm().value())).containsOnly(1.0);
    }

    @Test
    void aNonFiniteGradientNormStopsTrainingBeforeAnyWeightChanges() {
        Tensor value = f64.zeros(DType.F64, 2);
        Tensor grad = f64.allocate(DType.F64, 2);
        f64.upload(grad, new float[]{1, Float.NaN});
        try (Optimizer opt = new Optimizer(f64, List.of(new Parameter("w", value, grad)), AdamW.Hyper.DEFAULTS,
                LrSchedule.constant(1), 1)) {
            assertThatThrownBy(() -> opt.step(f64)).isInstanceOf(ArithmeticException.class).hasMessageContaining("NaN");
        }
        assertThat(f64.download(value)).containsOnly(0.0);
    }
}
