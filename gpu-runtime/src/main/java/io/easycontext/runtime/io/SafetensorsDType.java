package io.easycontext.runtime.io;

import io.easycontext.runtime.tensor.Bf16;
import io.easycontext.runtime.tensor.Fp16;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Locale;

/**
 * Element types of a safetensors file, under the names its header uses. Values cross as float64 on the host:
 * exact for every type except I64 beyond 2^53, which no model parameter is.
 */
public enum SafetensorsDType {
    F64(8), F32(4), F16(2), BF16(2), I64(8), I32(4), I16(2), I8(1), U8(1), BOOL(1);

    private final int bytes;

    SafetensorsDType(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }

    public boolean isFloatingPoint() {
        return this == F64 || this == F32 || this == F16 || this == BF16;
    }

    /** The type a header names, or {@code null} for a name this reader does not know. */
    static SafetensorsDType fromHeader(String name) {
        return Arrays.stream(values()).filter(t -> t.name().equals(name.toUpperCase(Locale.ROOT))).findFirst()
                .orElse(null);
    }

    /** Decodes {@code count} little-endian elements from {@code src}'s position on into {@code dst[offset…]}. */
    void decode(ByteBuffer src, double[] dst, int offset, int count) {
        int end = offset + count;
        switch (this) {
            case F64 -> {
                src.asDoubleBuffer().get(dst, offset, count);
                src.position(src.position() + count * bytes);
            }
            case F32 -> {
                for (int i = offset; i < end; i++) {
                    dst[i] = src.getFloat();
                }
            }
            case F16 -> {
                for (int i = offset; i < end; i++) {
                    dst[i] = Fp16.toFloat(src.getShort());
                }
            }
            case BF16 -> {
                for (int i = offset; i < end; i++) {
                    dst[i] = Bf16.toFloat(src.getShort());
                }
            }
            case I64 -> {
                for (int i = offset; i < end; i++) {
                    dst[i] = src.getLong();
                }
            }
            case I32 -> {
                for (int i = offset; i < end; i++) {
                    dst[i] = src.getInt();
                }
            }
            case I16 -> {
                for (int i = offset; i < end; i++) {
                    dst[i] = src.getShort();
                }
            }
            case I8, BOOL -> {
                for (int i = offset; i < end; i++) {
                    dst[i] = src.get();
                }
            }
            case U8 -> {
                for (int i = offset; i < end; i++) {
                    dst[i] = src.get() & 0xff;
                }
            }
        }
    }

    /** As {@link #decode(ByteBuffer, double[], int, int)}, into floats: half the host memory for bf16 weights. */
    void decode(ByteBuffer src, float[] dst, int offset, int count) {
        int end = offset + count;
        switch (this) {
            case F32 -> {
                src.asFloatBuffer().get(dst, offset, count);
                src.position(src.position() + count * bytes);
            }
            case BF16 -> {
                for (int i = offset; i < end; i++) {
                    dst[i] = Bf16.toFloat(src.getShort());
                }
            }
            case F16 -> {
                for (int i = offset; i < end; i++) {
                    dst[i] = Fp16.toFloat(src.getShort());
                }
            }
            default -> {
                double[] wide = new double[count];
                decode(src, wide, 0, count);
                for (int i = 0; i < count; i++) {
                    dst[offset + i] = (float) wide[i];
                }
            }
        }
    }

    /**
     * Encodes {@code values[offset…offset+count)} little-endian at {@code dst}'s position. Floating-point types
     * round to nearest even; integer types require integral values in range, since silently wrapping a value
     * would corrupt the file's meaning.
     */
    void encode(double[] values, int offset, int count, ByteBuffer dst) {
        for (int i = offset, end = offset + count; i < end; i++) {
            double v = values[i];
            switch (this) {
                case F64 -> dst.putDouble(v);
                case F32 -> dst.putFloat((float) v);
                case F16 -> dst.putShort(Fp16.fromFloat((float) v));
                case BF16 -> dst.putShort(Bf16.fromFloat((float) v));
                case I64 -> dst.putLong((long) integral(v, Long.MIN_VALUE, Long.MAX_VALUE));
                case I32 -> dst.putInt((int) integral(v, Integer.MIN_VALUE, Integer.MAX_VALUE));
                case I16 -> dst.putShort((short) integral(v, Short.MIN_VALUE, Short.MAX_VALUE));
                case I8 -> dst.put((byte) integral(v, Byte.MIN_VALUE, Byte.MAX_VALUE));
                case U8 -> dst.put((byte) integral(v, 0, 255));
                case BOOL -> dst.put((byte) integral(v, 0, 1));
            }
        }
    }

    private double integral(double v, double min, double max) {
        if (v != Math.rint(v) || v < min || v > max) {
            throw new IllegalArgumentException(v + " is not a " + this + " value");
        }
        return v;
    }
}
