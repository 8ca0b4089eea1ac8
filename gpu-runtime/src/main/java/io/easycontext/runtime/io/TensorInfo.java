package io.easycontext.runtime.io;

import java.util.Arrays;

/**
 * One tensor of a safetensors header: its element type, shape, and byte range {@code [begin, end)} relative to
 * the start of the data (just after the header).
 */
public record TensorInfo(String name, SafetensorsDType dtype, long[] shape, long begin, long end) {

    public TensorInfo {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public long numel() {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    public long byteSize() {
        return end - begin;
    }

    /** Whether the shape is {@code expected}, as the model's int dimensions. */
    public boolean hasShape(int[] expected) {
        return Arrays.equals(shape, Arrays.stream(expected).asLongStream().toArray());
    }

    public String shapeText() {
        return Arrays.toString(shape);
    }
}
