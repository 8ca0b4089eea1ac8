package io.easycontext.runtime.backend.cpu;

import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tensor.Tensor;

import java.util.Arrays;

/**
 * A CPU tensor: float values live in a {@code double[]} (F32 tensors hold values already rounded to float32,
 * so F32 behaves as float32 storage with float64 arithmetic inside an op; BF16 tensors, which the reference keeps
 * only for bf16 AdamW moments, hold values rounded to bfloat16 through float, as the GPU stores a float), I32 values
 * in an {@code int[]}.
 * A view shares its base's array from {@code offset}.
 */
public final class CpuTensor implements Tensor {
    private final int[] shape;
    private final DType dtype;
    /** Float storage (F32/F64), or null for I32. */
    public final double[] data;
    /** Integer storage (I32), or null for float types. */
    public final int[] ints;
    /** First element of this tensor in {@link #data} or {@link #ints}. */
    public final int offset;

    CpuTensor(DType dtype, int[] shape, double[] data, int[] ints, int offset) {
        this.dtype = dtype;
        this.shape = shape.clone();
        this.data = data;
        this.ints = ints;
        this.offset = offset;
        long n = numel();
        long capacity = data != null ? data.length : ints.length;
        if (offset < 0 || offset + n > capacity) {
            throw new IllegalArgumentException("view of " + Arrays.toString(shape) + " at " + offset
                    + " exceeds storage of " + capacity + " elements");
        }
    }

    static CpuTensor allocate(DType dtype, int... shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            }
            n *= d;
        }
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("CPU tensor of " + n + " elements exceeds the 2^31 limit of a Java array");
        }
        return switch (dtype) {
            case I32 -> new CpuTensor(dtype, shape, null, new int[(int) n], 0);
            case F32, F64, BF16 -> new CpuTensor(dtype, shape, new double[(int) n], null, 0);
        };
    }

    /**
     * Rounds a value to this tensor's precision: float32 for F32, bfloat16 (through float32, to nearest even, as
     * CUDA's {@code __float2bfloat16_rn}) for BF16, unchanged for F64.
     */
    public double round(double v) {
        return dtype == DType.I32 ? v : dtype.round(v);
    }

    public static CpuTensor of(Tensor t) {
        if (t instanceof CpuTensor c) {
            return c;
        }
        throw new IllegalArgumentException("not a CPU tensor: " + t);
    }

    @Override
    public int[] shape() {
        return shape.clone();
    }

    @Override
    public DType dtype() {
        return dtype;
    }

    @Override
    public void close() {
    }

    @Override
    public String toString() {
        return "CpuTensor" + Arrays.toString(shape) + dtype;
    }
}
