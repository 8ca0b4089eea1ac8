package io.easycontext.runtime.comm;

import io.easycontext.runtime.backend.cpu.CpuTensor;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tensor.Tensor;

import java.util.Arrays;

/**
 * Moves the contents of host (CPU backend) tensors in and out of plain arrays for the in-process communicator.
 * Values travel as doubles: exact for F64, F32 (already float-rounded) and I32. Writing rounds to the
 * destination's precision, so an F32 result is the float32 rounding of the rank-ordered double sum.
 */
final class HostTensors {

    private HostTensors() {
    }

    /** A copy of the tensor's elements. */
    static double[] read(Tensor t) {
        CpuTensor c = cpu(t);
        int n = Math.toIntExact(c.numel());
        if (c.dtype() == DType.I32) {
            double[] out = new double[n];
            for (int i = 0; i < n; i++) {
                out[i] = c.ints[c.offset + i];
            }
            return out;
        }
        return Arrays.copyOfRange(c.data, c.offset, c.offset + n);
    }

    /** Writes {@code t.numel()} values of {@code src} from {@code from} into the tensor. */
    static void write(Tensor t, double[] src, int from) {
        CpuTensor c = cpu(t);
        int n = Math.toIntExact(c.numel());
        switch (c.dtype()) {
            case I32 -> {
                for (int i = 0; i < n; i++) {
                    c.ints[c.offset + i] = (int) src[from + i];
                }
            }
            case F32 -> {
                for (int i = 0; i < n; i++) {
                    c.data[c.offset + i] = (float) src[from + i];
                }
            }
            default -> System.arraycopy(src, from, c.data, c.offset, n);
        }
    }

    private static CpuTensor cpu(Tensor t) {
        if (t instanceof CpuTensor c) {
            return c;
        }
        throw new IllegalArgumentException("the in-process communicator moves CPU tensors, not " + t);
    }
}
