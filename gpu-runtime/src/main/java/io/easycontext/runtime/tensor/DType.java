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
}
