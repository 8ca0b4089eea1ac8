package io.easycontext.runtime.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where each parameter lives in one flat buffer (of values, and a twin of gradients) that a single collective can
 * move whole, and how that buffer is cut into {@code shards} equal contiguous shards, one per rank of a ZeRO-sharded
 * optimizer.
 *
 * <p>Parameters follow each other in the order given, each starting on an {@link #ALIGNMENT}-element boundary: the
 * kernels and cuBLAS see a parameter start as aligned as a tensor of its own would be. The shard size is rounded up
 * to the same boundary, which pads the buffer's end whenever its length does not divide evenly: every rank's shard
 * then has the same length, as {@code reduceScatter} and {@code allGather} require, and starts aligned too. The gaps
 * and the padding belong to no parameter; their gradients stay zero, so they never change a norm or a weight.
 *
 * @param spans     every parameter's place, in buffer order
 * @param used      elements up to the end of the last parameter
 * @param shards    the number of equal shards
 * @param shardSize elements per shard
 */
public record FlatLayout(List<Span> spans, long used, int shards, long shardSize) {

    /** Elements between aligned starts: 128 bytes of bf16, 256 of fp32. */
    public static final int ALIGNMENT = 64;

    /** One parameter's elements {@code [offset, offset + numel)} of the flat buffer. */
    public record Span(String name, int[] shape, long offset) {
        public Span {
            shape = shape.clone();
        }

        @Override
        public int[] shape() {
            return shape.clone();
        }

        public long numel() {
            long n = 1;
            for (int d : shape) {
                n *= d;
            }
            return n;
        }

        public long end() {
            return offset + numel();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Span s && s.name.equals(name) && Arrays.equals(s.shape, shape) && s.offset == offset;
        }

        @Override
        public int hashCode() {
            return (name.hashCode() * 31 + Arrays.hashCode(shape)) * 31 + Long.hashCode(offset);
        }

        @Override
        public String toString() {
            return name + Arrays.toString(shape) + "@" + offset;
        }
    }

    public FlatLayout {
        spans = List.copyOf(spans);
        if (shards < 1 || shardSize < 0 || (long) shards * shardSize < used) {
            throw new IllegalArgumentException(shards + " shards of " + shardSize + " elements cannot hold " + used);
        }
    }

    /** Lays out {@code shapes} (name to shape, in order) for {@code shards} ranks. */
    public static FlatLayout of(Map<String, int[]> shapes, int shards) {
        if (shards < 1) {
            throw new IllegalArgumentException("a flat layout needs at least one shard, not " + shards);
        }
        List<Span> spans = new ArrayList<>(shapes.size());
        long offset = 0;
        for (Map.Entry<String, int[]> e : shapes.entrySet()) {
            Span s = new Span(e.getKey(), e.getValue(), align(offset));
            spans.add(s);
            offset = s.end();
        }
        long shardSize = align((offset + shards - 1) / shards);
        return new FlatLayout(spans, offset, shards, shardSize);
    }

    private static long align(long n) {
        return (n + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    /** Elements of the whole buffer, padding included: {@code shards × shardSize}. */
    public long size() {
        return shards * shardSize;
    }

    /** First element of shard {@code rank}. */
    public long shardStart(int rank) {
        if (rank < 0 || rank >= shards) {
            throw new IllegalArgumentException("shard " + rank + " of " + shards);
        }
        return rank * shardSize;
    }

    /** A tensor shape of {@code shardSize} elements (see {@link #shapeOf}). */
    public int[] shardShape() {
        return shapeOf(shardSize);
    }

    /** A tensor shape of {@link #size()} elements. */
    public int[] bufferShape() {
        return shapeOf(size());
    }

    /**
     * A shape of {@code n} elements, which must be a multiple of {@link #ALIGNMENT} or fit an {@code int}: one
     * dimension where it fits, else rows of {@link #ALIGNMENT} (a 7B model's flat buffer has more elements than an
     * {@code int} counts).
     */
    public static int[] shapeOf(long n) {
        if (n <= Integer.MAX_VALUE) {
            return new int[]{(int) n};
        }
        if (n % ALIGNMENT != 0) {
            throw new IllegalArgumentException(n + " elements are neither few enough for one dimension nor a multiple of "
                    + ALIGNMENT);
        }
        return new int[]{Math.toIntExact(n / ALIGNMENT), ALIGNMENT};
    }

    /** The span of the parameter {@code name}. */
    public Span span(String name) {
        for (Span s : spans) {
            if (s.name().equals(name)) {
                return s;
            }
        }
        throw new IllegalArgumentException("no parameter named '" + name + "' in the flat layout");
    }

    /** Name to shape, in buffer order: what {@link #of} was given. */
    public Map<String, int[]> shapes() {
        Map<String, int[]> m = new LinkedHashMap<>();
        spans.forEach(s -> m.put(s.name(), s.shape()));
        return Collections.unmodifiableMap(m);
    }

    /**
     * A short text that differs between layouts that place any element differently, so that a shard saved under
     * one layout is never read into another.
     */
    public String fingerprint() {
        return spans.size() + " parameters, " + used + " elements in " + shards + "×" + shardSize + ", "
                + Integer.toHexString(spans.hashCode());
    }
}
