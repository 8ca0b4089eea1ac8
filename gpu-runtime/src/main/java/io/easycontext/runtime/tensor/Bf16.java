package io.easycontext.runtime.tensor;

/** bfloat16 ⇄ float on the host, rounding to nearest even exactly as CUDA's {@code __float2bfloat16_rn}. */
public final class Bf16 {
    private Bf16() {
    }

    public static short fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            return (short) ((bits >>> 16) | 0x40); // NaN stays a quiet NaN
        }
        int roundingBias = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + roundingBias) >>> 16);
    }

    public static float toFloat(short b) {
        return Float.intBitsToFloat((b & 0xffff) << 16);
    }

    /** The value a float becomes when stored as bf16. */
    public static float round(float f) {
        return toFloat(fromFloat(f));
    }
}
