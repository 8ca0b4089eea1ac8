package io.easycontext.runtime.model;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.backend.cpu.Grad;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** Hugging Face's rotary embedding, through the properties that define it. */
class RotaryTest {

    private final Backend cpu = Grad.f64();
    private final SplittableRandom rng = new SplittableRandom(13);
    private final LlamaConfig config = LlamaConfig.of(32, 64, 1, 2, 1, 16).withRope(500, 64);

    @Test
    void frequenciesFallGeometricallyFromOne() {
        float[] inv = Rotary.inverseFrequencies(config);
        assertThat(inv).hasSize(8);
        assertThat(inv[0]).isEqualTo(1f);
        for (int j = 0; j < inv.length; j++) {
            assertThat((double) inv[j]).isCloseTo(Math.pow(500, -2.0 * j / 16), within(1e-7));
        }
    }

    @Test
    void positionZeroIsTheIdentity() {
        Tensor x = Grad.random(cpu, rng, 1, 1, 1, 2, 16);
        assertThat(cpu.download(rotate(x, 0))).containsExactly(cpu.download(x));
    }

    @Test
    void rotatingByPThenByKEqualsRotatingByPPlusK() {
        Tensor x = Grad.random(cpu, rng, 1, 1, 1, 2, 16);
        assertThat(cpu.download(rotate(rotate(x, 17), 5))).containsExactly(cpu.download(rotate(x, 22)), within(1e-12));
        assertThat(cpu.sumOfSquares(rotate(x, 17))).isCloseTo(cpu.sumOfSquares(x), within(1e-12));
    }

    /** What makes rope a relative position encoding: q·k depends on the positions only through their difference. */
    @Test
    void attentionScoresDependOnlyOnRelativePosition() {
        Tensor q = Grad.random(cpu, rng, 1, 1, 1, 1, 16);
        Tensor k = Grad.random(cpu, rng, 1, 1, 1, 1, 16);
        double near = Grad.dot(rotate(q, 9), rotate(k, 4));
        assertThat(Grad.dot(rotate(q, 1009), rotate(k, 1004))).isCloseTo(near, within(1e-10));
        assertThat(Grad.dot(rotate(q, 10), rotate(k, 4))).isNotCloseTo(near, within(1e-3));
    }

    @Test
    void llama3ScalingKeepsHighFrequenciesDividesLowOnesAndBlendsBetween() {
        RopeScaling scaling = RopeScaling.llama3(8, 1, 4, 8192);
        float[] plain = Rotary.inverseFrequencies(llama3Shape(null));
        float[] inv = Rotary.inverseFrequencies(llama3Shape(scaling));
        int blended = 0;
        for (int j = 0; j < inv.length; j++) {
            double wavelength = 2 * Math.PI / plain[j];
            if (wavelength < 8192 / 4.0) {
                assertThat(inv[j]).isEqualTo(plain[j]);
            } else if (wavelength > 8192 / 1.0) {
                assertThat((double) inv[j]).isCloseTo(plain[j] / 8.0, within(1e-7 * plain[j]));
            } else {
                assertThat(inv[j]).isBetween(plain[j] / 8, plain[j]);
                blended++;
            }
        }
        assertThat(blended).isPositive();
    }

    private static LlamaConfig llama3Shape(RopeScaling scaling) {
        return new LlamaConfig(128, 64, 1, 1, 1, 128, 16, 1e-5, 500000, 131072, false, 0.02, scaling);
    }

    private Tensor rotate(Tensor x, int position) {
        Tensor positions = cpu.allocate(DType.I32, 1, 1);
        cpu.uploadInts(positions, new int[]{position});
        float[] inv = Rotary.inverseFrequencies(config);
        Tensor invFreq = cpu.allocate(DType.F32, inv.length);
        cpu.upload(invFreq, inv);
        Tensor out = cpu.allocate(DType.F64, x.shape());
        cpu.rope(x, positions, invFreq, false, out);
        return out;
    }
}
