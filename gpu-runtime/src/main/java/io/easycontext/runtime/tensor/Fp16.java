package io.easycontext.runtime.tensor;

/**
 * IEEE half precision ⇄ float on the host, rounding to nearest even with subnormals, as PyTorch's
 * {@code tensor.half()}. Java 17 has no {@code Float.floatToFloat16}, hence this class.
 */
public final class Fp16 {
    private Fp16() {
    }

    public static float toFloat(short h) {
        int bits = h & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int exponent = (bits >>> 10) & 0x1f;
        int mantissa = bits & 0x3ff;
        if (exponent == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mantissa << 13));
        }
        if (exponent == 0) {
            float subnormal = mantissa * 0x1p-24f;
            return sign == 0 ? subnormal : -subnormal;
        }
        return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
    }

    public static short fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int abs = bits & 0x7fffffff;
        if (abs > 0x7f800000) {
            return (short) (sign | 0x7e00 | ((abs >>> 13) & 0x3ff)); // NaN stays a quiet NaN
        }
        if (abs >= 0x477ff000) {
            return (short) (sign | 0x7c00); // 65520 and above round to infinity
        }
        if (abs < 0x38800000) {
            // Below half's smallest normal 2^-14: a multiple of 2^-24, exact in double, rint rounds half to even.
            return (short) (sign | (int) Math.rint(Float.intBitsToFloat(abs) * 0x1p24));
        }
        int rebiased = abs - (112 << 23);
        int roundingBias = 0xfff + ((rebiased >>> 13) & 1);
        return (short) (sign | ((rebiased + roundingBias) >>> 13));
    }
}
