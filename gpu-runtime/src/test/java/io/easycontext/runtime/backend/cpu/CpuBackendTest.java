package io.easycontext.runtime.backend.cpu;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;

import static io.easycontext.runtime.backend.cpu.CpuAttentionTest.assertClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** Every non-attention op: forward against a direct formula, backward against finite differences. */
class CpuBackendTest {

    private final Backend cpu = Grad.f64();
    private final SplittableRandom rng = new SplittableRandom(11);

    @Test
    void matmulMatchesTheDefinitionForEveryTranspositionAndAccumulates() {
        // 7 rows: a full tile of four plus a short one; 600 columns: one full pass of 512 plus a remainder.
        int m = 7, k = 5, n = 600;
        for (boolean ta : new boolean[]{false, true}) {
            for (boolean tb : new boolean[]{false, true}) {
                Tensor a = Grad.random(cpu, rng, 1, ta ? k : m, ta ? m : k);
                Tensor b = Grad.random(cpu, rng, 1, tb ? n : k, tb ? k : n);
                Tensor c = Grad.random(cpu, rng, 1, m, n);
                double[] before = cpu.download(c);
                cpu.matmul(a, ta, b, tb, c, 0.5, 2);
                double[] as = cpu.download(a), bs = cpu.download(b), cs = cpu.download(c);
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++) {
                        double s = 0;
                        for (int kk = 0; kk < k; kk++) {
                            s += (ta ? as[kk * m + i] : as[i * k + kk]) * (tb ? bs[j * k + kk] : bs[kk * n + j]);
                        }
                        assertThat(cs[i * n + j]).as("ta=%s tb=%s [%d,%d]", ta, tb, i, j)
                                .isCloseTo(0.5 * s + 2 * before[i * n + j], within(1e-12));
                    }
                }
            }
        }
    }

    @Test
    void matmulWithBetaZeroIgnoresWhateverTheOutputHeld() {
        Tensor a = Grad.random(cpu, rng, 1, 2, 3);
        Tensor b = Grad.random(cpu, rng, 1, 3, 2);
        Tensor c = cpu.allocate(DType.F64, 2, 2);
        cpu.fill(c, Double.NaN);
        cpu.matmul(a, false, b, false, c, 1, 0);
        assertThat(cpu.download(c)).doesNotContain(Double.NaN);
    }

    /** A linear layer {@code y = x·Wᵀ} and its two gradient GEMMs, as the model uses them. */
    @Test
    void linearLayerGradientsFromMatmulMatchFiniteDifferences() {
        Tensor x = Grad.random(cpu, rng, 1, 6, 4);
        Tensor w = Grad.random(cpu, rng, 1, 3, 4);
        Tensor upstream = Grad.random(cpu, rng, 1, 6, 3);
        Tensor y = cpu.allocate(DType.F64, 6, 3);
        DoubleSupplier loss = () -> {
            cpu.matmul(x, false, w, true, y, 1, 0);
            return Grad.dot(upstream, y);
        };
        Tensor dx = cpu.allocate(DType.F64, 6, 4);
        cpu.matmul(upstream, false, w, false, dx, 1, 0);
        Tensor dw = Grad.random(cpu, rng, 1, 3, 4);
        Tensor prior = cpu.allocate(DType.F64, 3, 4);
        cpu.copy(dw, prior);
        cpu.matmul(upstream, true, x, false, dw, 1, 1);
        cpu.addScaledAccumulate(dw, prior, -1); // what the accumulation added
        Grad.check("dx", x, dx, loss);
        Grad.check("dw", w, dw, loss);
    }

    @Test
    void embeddingGathersRowsAndItsBackwardAccumulatesRepeatedTokens() {
        Tensor weight = Grad.random(cpu, rng, 1, 5, 3);
        Tensor ids = cpu.allocate(DType.I32, 4);
        cpu.uploadInts(ids, new int[]{4, 1, 4, 0});
        Tensor out = cpu.allocate(DType.F64, 4, 3);
        cpu.embeddingForward(weight, ids, out);
        double[] w = cpu.download(weight);
        assertThat(cpu.download(out)).containsExactly(w[12], w[13], w[14], w[3], w[4], w[5], w[12], w[13], w[14],
                w[0], w[1], w[2]);

        Tensor upstream = Grad.random(cpu, rng, 1, 4, 3);
        Tensor dw = cpu.zeros(DType.F64, 5, 3);
        cpu.embeddingBackward(upstream, ids, dw);
        Grad.check("dWeight", weight, dw, () -> {
            cpu.embeddingForward(weight, ids, out);
            return Grad.dot(upstream, out);
        });
        cpu.embeddingBackward(upstream, ids, dw);
        double[] twice = cpu.download(dw);
        double[] g = cpu.download(upstream);
        assertThat(twice[12]).as("row 4 appears twice and is accumulated twice").isCloseTo(2 * (g[0] + g[6]), within(1e-15));
        assertThat(twice[6]).as("row 2 never appears").isZero();
    }

    @Test
    void embeddingRejectsATokenOutsideTheVocabulary() {
        Tensor ids = cpu.allocate(DType.I32, 1);
        cpu.uploadInts(ids, new int[]{5});
        assertThatThrownBy(() -> cpu.embeddingForward(Grad.random(cpu, rng, 1, 5, 3), ids, cpu.allocate(DType.F64, 1, 3)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("token id 5");
    }

    @Test
    void rmsNormMatchesItsDefinitionAndItsBackwardMatchesFiniteDifferences() {
        int n = 5, hidden = 6;
        double eps = 1e-5;
        Tensor x = Grad.random(cpu, rng, 2, n, hidden);
        Tensor weight = Grad.random(cpu, rng, 1, hidden);
        Tensor out = cpu.allocate(DType.F64, n, hidden);
        Tensor rstd = cpu.allocate(DType.F64, n);
        cpu.rmsNormForward(x, weight, eps, out, rstd);
        double[] xs = cpu.download(x), ws = cpu.download(weight), os = cpu.download(out);
        double ms = 0;
        for (int c = 0; c < hidden; c++) {
            ms += xs[hidden + c] * xs[hidden + c] / hidden;
        }
        assertThat(cpu.download(rstd)[1]).isCloseTo(1 / Math.sqrt(ms + eps), within(1e-12));
        assertThat(os[hidden + 2]).isCloseTo(xs[hidden + 2] / Math.sqrt(ms + eps) * ws[2], within(1e-12));

        Tensor upstream = Grad.random(cpu, rng, 1, n, hidden);
        Tensor dx = cpu.allocate(DType.F64, n, hidden);
        Tensor dw = cpu.zeros(DType.F64, hidden);
        cpu.rmsNormBackward(upstream, x, weight, rstd, dx, dw);
        DoubleSupplier loss = () -> {
            cpu.rmsNormForward(x, weight, eps, out, rstd);
            return Grad.dot(upstream, out);
        };
        Grad.check("dx", x, dx, loss);
        Grad.check("dWeight", weight, dw, loss);
    }

    @Test
    void ropeRotatesHalvesByPositionTimesFrequencyAndInverseIsItsBackward() {
        int b = 2, t = 3, heads = 2, d = 4;
        Tensor x = Grad.random(cpu, rng, 1, b, t, heads, d);
        Tensor positions = cpu.allocate(DType.I32, b, t);
        cpu.uploadInts(positions, new int[]{0, 5, 9, 100, 7, 3});
        Tensor invFreq = cpu.allocate(DType.F32, d / 2);
        cpu.upload(invFreq, new float[]{1f, 0.01f});
        Tensor out = cpu.allocate(DType.F64, b, t, heads, d);
        cpu.rope(x, positions, invFreq, false, out);

        double[] xs = cpu.download(x), os = cpu.download(out);
        int base = ((1 * t + 0) * heads + 1) * d; // batch 1, token 0 (position 100), head 1
        double angle = 100 * (double) 0.01f;
        assertThat(os[base + 1]).isCloseTo(xs[base + 1] * Math.cos(angle) - xs[base + 3] * Math.sin(angle), within(1e-12));
        assertThat(os[base + 3]).isCloseTo(xs[base + 3] * Math.cos(angle) + xs[base + 1] * Math.sin(angle), within(1e-12));
        assertThat(os[0]).as("position 0 is the identity").isEqualTo(xs[0]);

        Tensor upstream = Grad.random(cpu, rng, 1, b, t, heads, d);
        Tensor dx = cpu.allocate(DType.F64, b, t, heads, d);
        cpu.rope(upstream, positions, invFreq, true, dx);
        Grad.check("dx", x, dx, () -> {
            cpu.rope(x, positions, invFreq, false, out);
            return Grad.dot(upstream, out);
        });

        cpu.rope(x, positions, invFreq, false, out);
        cpu.rope(out, positions, invFreq, true, out); // in place
        assertClose(out, x, 1e-12);
    }

    @Test
    void swiGluMatchesSiluTimesUpAndItsBackwardMatchesFiniteDifferences() {
        Tensor gate = Grad.random(cpu, rng, 3, 4, 5);
        Tensor up = Grad.random(cpu, rng, 1, 4, 5);
        Tensor out = cpu.allocate(DType.F64, 4, 5);
        cpu.swiGluForward(gate, up, out);
        double g = cpu.download(gate)[7];
        assertThat(cpu.download(out)[7]).isCloseTo(g / (1 + Math.exp(-g)) * cpu.download(up)[7], within(1e-14));

        Tensor upstream = Grad.random(cpu, rng, 1, 4, 5);
        Tensor dGate = cpu.allocate(DType.F64, 4, 5);
        Tensor dUp = cpu.allocate(DType.F64, 4, 5);
        cpu.swiGluBackward(upstream, gate, up, dGate, dUp);
        DoubleSupplier loss = () -> {
            cpu.swiGluForward(gate, up, out);
            return Grad.dot(upstream, out);
        };
        Grad.check("dGate", gate, dGate, loss);
        Grad.check("dUp", up, dUp, loss);
    }

    @Test
    void crossEntropySumsTheLossOfKeptRowsAndItsGradientMatchesFiniteDifferences() {
        int n = 4, vocab = 7;
        double gradScale = 1.0 / 3; // the mean over the three kept rows
        Tensor logits = Grad.random(cpu, rng, 3, n, vocab);
        Tensor targets = cpu.allocate(DType.I32, n);
        cpu.uploadInts(targets, new int[]{2, -100, 6, 0});
        double[] z = cpu.download(logits);
        double expected = 0;
        for (int i : new int[]{0, 2, 3}) {
            int target = cpu.downloadInts(targets)[i];
            double sum = 0;
            for (int c = 0; c < vocab; c++) {
                sum += Math.exp(z[i * vocab + c]);
            }
            expected += Math.log(sum) - z[i * vocab + target];
        }

        Tensor work = cpu.allocate(DType.F64, n, vocab);
        cpu.copy(logits, work);
        assertThat(cpu.crossEntropyForwardBackward(work, targets, -100, gradScale)).isCloseTo(expected, within(1e-12));
        double[] grad = cpu.download(work);
        for (int c = 0; c < vocab; c++) {
            assertThat(grad[vocab + c]).as("ignored row").isZero();
        }
        Tensor dLogits = cpu.allocate(DType.F64, n, vocab);
        cpu.copy(work, dLogits);
        Grad.check("dLogits", logits, dLogits, () -> {
            cpu.copy(logits, work);
            return gradScale * cpu.crossEntropyForwardBackward(work, targets, -100, gradScale);
        });
    }

    @Test
    void adamWFollowsTheDecoupledUpdateOverTwoSteps() {
        double lr = 0.1, b1 = 0.9, b2 = 0.99, eps = 1e-8, wd = 0.05, gradScale = 0.5;
        Tensor param = cpu.allocate(DType.F64, 2);
        Tensor grad = cpu.allocate(DType.F64, 2);
        Tensor m = cpu.zeros(DType.F64, 2);
        Tensor v = cpu.zeros(DType.F64, 2);
        cpu.upload(param, new float[]{1f, -2f});
        double[] p = {1, -2};
        double[] ms = new double[2];
        double[] vs = new double[2];
        float[][] grads = {{0.4f, -3f}, {-1f, 0.25f}};
        for (int step = 1; step <= 2; step++) {
            cpu.upload(grad, grads[step - 1]);
            cpu.adamW(param, null, grad, m, v, lr, b1, b2, eps, wd, step, gradScale);
            for (int i = 0; i < 2; i++) {
                double g = grads[step - 1][i] * gradScale;
                ms[i] = b1 * ms[i] + (1 - b1) * g;
                vs[i] = b2 * vs[i] + (1 - b2) * g * g;
                double mHat = ms[i] / (1 - Math.pow(b1, step));
                double vHat = vs[i] / (1 - Math.pow(b2, step));
                p[i] = p[i] * (1 - lr * wd) - lr * mHat / (Math.sqrt(vHat) + eps);
            }
        }
        assertThat(cpu.download(param)).containsExactly(new double[]{p[0], p[1]}, within(1e-14));
        // After one step every coordinate moves by about lr regardless of the gradient's size: Adam's signature.
        assertThat(Math.abs(p[1] + 2)).isGreaterThan(0.05);
    }

    @Test
    void elementwiseOpsAndViewsShareStorage() {
        Tensor x = cpu.allocate(DType.F64, 2, 3);
        cpu.upload(x, new float[]{1, 2, 3, 4, 5, 6});
        Tensor secondRow = cpu.view(x, 3, 3);
        cpu.scale(secondRow, 2);
        assertThat(cpu.download(x)).containsExactly(1, 2, 3, 8, 10, 12);
        cpu.addScaledAccumulate(secondRow, cpu.view(x, 0, 3), -1);
        assertThat(cpu.download(x)).containsExactly(1, 2, 3, 7, 8, 9);
        assertThat(cpu.sumOfSquares(x)).isEqualTo(1 + 4 + 9 + 49 + 64 + 81);
        cpu.fill(cpu.view(x, 1, 2), -1);
        assertThat(cpu.download(x)).containsExactly(1, -1, -1, 7, 8, 9);
    }

    @Test
    void float32StorageRoundsEveryResultToFloat() {
        Backend f32 = new CpuBackend(DType.F32);
        Tensor x = f32.allocate(DType.F32, 1);
        f32.upload(x, new float[]{1f});
        f32.scale(x, 1.0 / 3);
        assertThat(f32.download(x)[0]).isEqualTo((double) (float) (1.0 / 3));
        assertThat(f32.statsType()).isEqualTo(DType.F32);
        assertThat(cpu.statsType()).isEqualTo(DType.F64);
    }

    @Test
    void sumOfSquaresOverManyChunksIsExactToRounding() {
        int n = 1 << 20;
        Tensor x = cpu.allocate(DType.F64, n);
        cpu.fill(x, 0.5);
        assertThat(cpu.sumOfSquares(x)).isEqualTo(n * 0.25);
    }
}
