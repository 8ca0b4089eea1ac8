package io.easycontext.runtime.tensor;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class Bf16Test {

    @Test
    void roundsToNearestEvenAtTheHalfwayPoint() {
        // 1 + 2^-8 lies exactly between bf16 neighbours 1 and 1 + 2^-7: ties go to the even mantissa (1).
        assertThat(Bf16.round(1f + 0x1p-8f)).isEqualTo(1f);
        // 1 + 3·2^-8 lies between 1 + 2^-7 (odd) and 1 + 2^-6 (even): it goes up.
        assertThat(Bf16.round(1f + 3 * 0x1p-8f)).isEqualTo(1f + 0x1p-6f);
        assertThat(Bf16.round(1f + 0x1p-8f + 0x1p-20f)).isEqualTo(1f + 0x1p-7f);
    }

    @Test
    void keepsSpecialValues() {
        assertThat(Bf16.round(Float.POSITIVE_INFINITY)).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(Bf16.round(-0f)).isEqualTo(-0f);
        assertThat(Bf16.round(Float.NaN)).isNaN();
        assertThat(Bf16.round(Float.MAX_VALUE)).isEqualTo(Float.POSITIVE_INFINITY);
    }

    @Test
    void relativeErrorStaysWithinHalfAnUlpOfEightBits() {
        Random r = new Random(7);
        for (int i = 0; i < 100_000; i++) {
            float f = (float) (r.nextGaussian() * Math.exp(r.nextGaussian() * 10));
            float b = Bf16.round(f);
            assertThat(Math.abs(b - f)).isLessThanOrEqualTo(Math.abs(f) * 0x1p-8f);
            assertThat(Bf16.round(b)).isEqualTo(b);
        }
    }
}
