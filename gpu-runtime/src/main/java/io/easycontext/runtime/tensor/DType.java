package io.easycontext.runtime.tensor;

/** Element types a backend stores. The CPU reference uses F32 (or F64 for gradient checks); CUDA stores BF16. */
public enum DType {
    F64(8), F32(4), BF16(2), I32(4);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }

    /**
     * A value computed in float64 as this type stores it: to float for F32, through float to bfloat16 (to nearest
     * even, as CUDA's {@code __float2bfloat16_rn}) for BF16, unchanged for F64.
     */
    public double round(double value) {
        return switch (this) {
            case F32 -> (float) value;
            case BF16 -> Bf16.round((float) value);
            case F64 -> value;
            case I32 -> throw new IllegalArgumentException("only floating-point types round values, not " + this);
        };
    }
}
