package io.easycontext.runtime.optim;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.tensor.DType;

import java.util.Locale;

/**
 * The type AdamW keeps its two moments in ({@code --optimizer-moments}). {@link #FP32}, the default, is the backend's
 * {@link Backend#statsType()} (fp32; float64 on the float64 CPU reference). {@link #BF16} stores both moments in
 * bfloat16, as PyTorch's AdamW does on bf16 parameters: 4 bytes a parameter instead of 8, at the cost of rounding
 * {@code m} and {@code v} to 8 significant bits after every update (the arithmetic itself stays fp32 or better, and
 * the master weights stay fp32).
 */
public enum OptimizerMoments {
    FP32,
    BF16;

    /** {@code fp32} or {@code bf16}. */
    public static OptimizerMoments parse(String text) {
        for (OptimizerMoments m : values()) {
            if (m.flag().equals(text)) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown optimizer moments '" + text + "'; known: fp32, bf16");
    }

    /** The name flags, specs and checkpoints use. */
    public String flag() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The type {@code backend} keeps the moments in. */
    public DType dtype(Backend backend) {
        return this == BF16 ? DType.BF16 : backend.statsType();
    }

    /** Bytes of one moment of one parameter on a GPU. */
    public int bytes() {
        return this == BF16 ? 2 : 4;
    }
}
