package io.easycontext.runtime.backend.cpu;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tensor.Tensor;

import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Finite-difference gradient checks on the float64 backend. An op's backward is checked through the scalar
 * {@code L = Σ G ⊙ forward(inputs)} for a random upstream gradient {@code G}: its exact derivative with respect
 * to an input is what the backward computes from {@code G}.
 */
public final class Grad {

    /** Step of the central difference: truncation error ~h², cancellation ~1e-16/h, both near 1e-10 here. */
    private static final double H = 1e-5;
    private static final double RELATIVE = 1e-6;
    private static final double ABSOLUTE = 1e-9;

    private Grad() {
    }

    public static Backend f64() {
        return new CpuBackend(DType.F64);
    }

    /** Uniform in {@code ±scale}, never exactly zero: an all-zero input hides whole terms of a gradient. */
    public static Tensor random(Backend backend, SplittableRandom rng, double scale, int... shape) {
        Tensor t = backend.allocate(backend.floatType(), shape);
        CpuTensor c = CpuTensor.of(t);
        for (int i = 0; i < c.numel(); i++) {
            double u = rng.nextDouble(-1, 1);
            c.data[c.offset + i] = c.round(scale * (u == 0 ? 0.5 : u));
        }
        return t;
    }

    /** {@code Σ a ⊙ b}. */
    public static double dot(Tensor a, Tensor b) {
        CpuTensor x = CpuTensor.of(a);
        CpuTensor y = CpuTensor.of(b);
        assertThat(x.numel()).isEqualTo(y.numel());
        double s = 0;
        for (int i = 0; i < x.numel(); i++) {
            s += x.data[x.offset + i] * y.data[y.offset + i];
        }
        return s;
    }

    /** Checks every element of {@code input}: {@code analytic[i] ≈ ∂loss/∂input[i]}. */
    public static void check(String name, Tensor input, Tensor analytic, DoubleSupplier loss) {
        CpuTensor x = CpuTensor.of(input);
        int[] all = new int[(int) x.numel()];
        for (int i = 0; i < all.length; i++) {
            all[i] = i;
        }
        check(name, input, analytic, loss, all);
    }

    /** Checks the listed elements of {@code input}. */
    public static void check(String name, Tensor input, Tensor analytic, DoubleSupplier loss, int... elements) {
        CpuTensor x = CpuTensor.of(input);
        CpuTensor g = CpuTensor.of(analytic);
        assertThat(x.dtype()).as("gradient checks need float64").isEqualTo(DType.F64);
        double maxAnalytic = 0;
        for (int i : elements) {
            int at = x.offset + i;
            double saved = x.data[at];
            x.data[at] = saved + H;
            double plus = loss.getAsDouble();
            x.data[at] = saved - H;
            double minus = loss.getAsDouble();
            x.data[at] = saved;
            double numeric = (plus - minus) / (2 * H);
            double exact = g.data[g.offset + i];
            maxAnalytic = Math.max(maxAnalytic, Math.abs(exact));
            assertThat(Math.abs(exact - numeric))
                    .as("%s[%d]: analytic %.12g vs numeric %.12g", name, i, exact, numeric)
                    .isLessThanOrEqualTo(RELATIVE * Math.max(Math.abs(exact), Math.abs(numeric)) + ABSOLUTE);
        }
        // A gradient that is zero everywhere would pass the comparison without testing anything.
        assertThat(maxAnalytic).as("%s: largest checked gradient", name).isGreaterThan(1e-6);
    }
}
