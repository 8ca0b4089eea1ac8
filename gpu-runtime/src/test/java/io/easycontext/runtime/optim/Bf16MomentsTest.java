package io.easycontext.runtime.optim;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.backend.cpu.CpuBackend;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.model.Parameter;
import io.easycontext.runtime.model.TinyModels;
import io.easycontext.runtime.tensor.Bf16;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code --optimizer-moments bf16} on the CPU reference: the backend's AdamW keeps bf16 moments rounded exactly as
 * the kernel stores them (to nearest even, through float), moves the weight by the moments as stored, and the
 * optimizer allocates its moments in bf16 while its master weights (where there are any) stay in the stats type.
 */
class Bf16MomentsTest {

    private static final double LR = 3e-3;
    private static final double BETA1 = 0.9;
    private static final double BETA2 = 0.95;
    private static final double EPS = 1e-8;
    private static final double WEIGHT_DECAY = 0.1;
    private static final long STEP = 3;
    private static final double GRAD_SCALE = 0.7;

    private static double[] random(SplittableRandom rng, int n, double from, double to) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = rng.nextDouble(from, to);
        }
        return v;
    }

    private static double bf16(double v) {
        return Bf16.toFloat(Bf16.fromFloat((float) v));
    }

    /**
     * One step on random values against the step written out by hand: torch.optim.AdamW's update with both moments
     * rounded to bf16 as they are stored, the weight then moved by the stored moments and rounded to the float type.
     */
    @Test
    void oneStepEqualsAHandWrittenReferenceThatRoundsBothMomentsToBf16() {
        for (DType type : List.of(DType.F32, DType.F64)) {
            Backend backend = new CpuBackend(type);
            SplittableRandom rng = new SplittableRandom(23);
            int n = 4099;
            double[] x0 = random(rng, n, -1, 1);
            double[] g0 = random(rng, n, -0.3, 0.3);
            double[] m0 = random(rng, n, -0.05, 0.05);
            double[] v0 = random(rng, n, 0, 0.01);
            Tensor param = backend.allocate(type, n);
            Tensor grad = backend.allocate(type, n);
            Tensor m = backend.allocate(DType.BF16, n);
            Tensor v = backend.allocate(DType.BF16, n);
            backend.uploadDoubles(param, x0);
            backend.uploadDoubles(grad, g0);
            backend.uploadDoubles(m, m0);
            backend.uploadDoubles(v, v0);
            double[] xIn = backend.download(param);
            double[] gIn = backend.download(grad);
            double[] mIn = backend.download(m);
            double[] vIn = backend.download(v);
            for (int i = 0; i < n; i++) {
                assertThat(mIn[i]).as("m uploaded as bf16").isEqualTo(bf16(m0[i]));
                assertThat(vIn[i]).as("v uploaded as bf16").isEqualTo(bf16(v0[i]));
            }

            backend.adamW(param, null, grad, m, v, LR, BETA1, BETA2, EPS, WEIGHT_DECAY, STEP, GRAD_SCALE);

            double c1 = 1 - Math.pow(BETA1, STEP);
            double c2 = 1 - Math.pow(BETA2, STEP);
            double[] xGot = backend.download(param);
            double[] mGot = backend.download(m);
            double[] vGot = backend.download(v);
            int unrounded = 0;
            for (int i = 0; i < n; i++) {
                double g = gIn[i] * GRAD_SCALE;
                double mExact = BETA1 * mIn[i] + (1 - BETA1) * g;
                double vExact = BETA2 * vIn[i] + (1 - BETA2) * g * g;
                double mi = bf16(mExact);
                double vi = bf16(vExact);
                double x = xIn[i] - LR * WEIGHT_DECAY * xIn[i];
                x -= LR * (mi / c1) / (Math.sqrt(vi / c2) + EPS);
                double want = type == DType.F32 ? (float) x : x;
                assertThat(mGot[i]).as("m[%d]", i).isEqualTo(mi);
                assertThat(vGot[i]).as("v[%d]", i).isEqualTo(vi);
                assertThat(xGot[i]).as("x[%d] (%s)", i, type).isEqualTo(want);
                unrounded += mi != (float) mExact ? 1 : 0;
            }
            assertThat(unrounded).as("bf16 rounding changed the moments").isGreaterThan(n / 2);
        }
    }

    @Test
    void theOptimizerKeepsItsMomentsInBf16AndItsMasterWeightsInTheStatsType() {
        for (DType type : List.of(DType.F32, DType.F64)) {
            Backend backend = new CpuBackend(type);
            LlamaWeights w = LlamaWeights.initialize(backend, TinyModels.GRADIENT_CHECK, 3);
            AdamW.Hyper hyper = AdamW.Hyper.DEFAULTS.withMoments(OptimizerMoments.BF16);
            try (Optimizer opt = new Optimizer(backend, w.parameters(), hyper, LrSchedule.constant(1e-3), 1.0)) {
                assertThat(opt.moments()).isEqualTo(OptimizerMoments.BF16);
                for (AdamW.Slot s : opt.adamW().slots()) {
                    assertThat(s.m().dtype()).isEqualTo(DType.BF16);
                    assertThat(s.v().dtype()).isEqualTo(DType.BF16);
                    assertThat(s.master()).as("the CPU reference stores its parameters in the stats type").isNull();
                }
            }
            try (Optimizer opt = new Optimizer(backend, w.parameters(), AdamW.Hyper.DEFAULTS,
                    LrSchedule.constant(1e-3), 1.0)) {
                assertThat(opt.moments()).isEqualTo(OptimizerMoments.FP32);
                assertThat(opt.adamW().slots()).allSatisfy(s -> assertThat(s.m().dtype()).isEqualTo(type));
            }
        }
    }

    /** Several steps of the optimizer keep every moment a bf16 value and differ from the fp32-moments run. */
    @Test
    void severalStepsKeepEveryMomentInBf16AndMoveTheWeightsOtherwiseThanFp32Moments() {
        Backend backend = new CpuBackend(DType.F32);
        double[][] finals = new double[2][];
        for (OptimizerMoments moments : OptimizerMoments.values()) {
            LlamaWeights w = LlamaWeights.initialize(backend, TinyModels.GRADIENT_CHECK, 3);
            AdamW.Hyper hyper = new AdamW.Hyper(BETA1, BETA2, EPS, WEIGHT_DECAY, moments);
            try (Optimizer opt = new Optimizer(backend, w.parameters(), hyper, LrSchedule.constant(1e-2), 0)) {
                for (int step = 0; step < 4; step++) {
                    SplittableRandom rng = new SplittableRandom(100 + step);
                    for (Parameter p : w.parameters()) {
                        backend.uploadDoubles(p.grad(), random(rng, Math.toIntExact(p.grad().numel()), -0.5, 0.5));
                    }
                    opt.step(backend);
                }
                for (AdamW.Slot s : opt.adamW().slots()) {
                    for (double value : backend.download(s.m())) {
                        assertThat(moments == OptimizerMoments.BF16 ? value == bf16(value) : value == (float) value)
                                .isTrue();
                    }
                }
            }
            finals[moments.ordinal()] = backend.download(w.parameters().get(1).value());
        }
        assertThat(finals[1]).isNotEqualTo(finals[0]);
        for (int i = 0; i < finals[0].length; i++) {
            // Four steps of at most lr·(1 + a few bf16 ulps) each: close, not equal.
            assertThat(Math.abs(finals[1][i] - finals[0][i])).isLessThan(4 * 1e-2 * 0.05);
        }
    }

    @Test
    void theFlagNamesParseAndAnUnknownOneIsRefused() {
        assertThat(OptimizerMoments.parse("fp32")).isEqualTo(OptimizerMoments.FP32);
        assertThat(OptimizerMoments.parse("bf16")).isEqualTo(OptimizerMoments.BF16);
        assertThat(OptimizerMoments.BF16.flag()).isEqualTo("bf16");
        assertThat(OptimizerMoments.BF16.bytes()).isEqualTo(2);
        assertThat(OptimizerMoments.FP32.bytes()).isEqualTo(4);
        assertThat(OptimizerMoments.FP32.dtype(new CpuBackend(DType.F64))).isEqualTo(DType.F64);
        assertThat(OptimizerMoments.BF16.dtype(new CpuBackend(DType.F64))).isEqualTo(DType.BF16);
        assertThatThrownBy(() -> OptimizerMoments.parse("fp16")).hasMessageContaining("known: fp32, bf16");
        assertThat(AdamW.Hyper.DEFAULTS.moments()).isEqualTo(OptimizerMoments.FP32);
    }
}
