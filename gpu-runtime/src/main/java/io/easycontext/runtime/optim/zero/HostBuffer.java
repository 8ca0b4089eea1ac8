package io.easycontext.runtime.optim.zero;

import io.easycontext.runtime.tensor.Bf16;
import io.easycontext.runtime.tensor.DType;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;

/**
 * Elements of one type in host memory outside the Java heap, as many as wanted: a 7B model's optimizer state is
 * tens of gigabytes per rank, beyond any Java array and any sensible heap. The memory is a row of direct byte
 * buffers of {@code segmentElements} elements each (one buffer addresses at most 2 GiB); on the GPU they are views
 * of one pinned allocation, so the driver copies them at full speed.
 *
 * <p>Values pass in and out as float64 in ranges: exact for F64, F32 and BF16 on the way out; on the way in they
 * are rounded to the buffer's type (BF16 through float, as the GPU stores a float master weight in bf16).
 */
final class HostBuffer implements AutoCloseable {

    private final DType dtype;
    private final long length;
    private final long segmentElements;
    private final ByteBuffer[] segments;
    private final Runnable release;
    private boolean closed;

    /**
     * Over {@code segments} of {@code segmentElements} elements each (the last may be shorter) holding
     * {@code length} elements in all; {@code release} runs once, on {@link #close}.
     */
    HostBuffer(DType dtype, long length, long segmentElements, ByteBuffer[] segments, Runnable release) {
        if (dtype == DType.I32) {
            throw new IllegalArgumentException("a host buffer holds floating-point values, not " + dtype);
        }
        if (segmentElements < 1 || segmentElements * dtype.bytes() > Integer.MAX_VALUE
                || segments.length != (length + segmentElements - 1) / segmentElements) {
            throw new IllegalArgumentException(segments.length + " segments of " + segmentElements + " " + dtype
                    + " elements for " + length);
        }
        for (int s = 0; s < segments.length; s++) {
            long want = Math.min(segmentElements, length - s * segmentElements) * dtype.bytes();
            if (!segments[s].isDirect() || segments[s].capacity() < want) {
                throw new IllegalArgumentException("segment " + s + " is not " + want + " bytes of direct memory");
            }
            segments[s] = segments[s].duplicate().order(ByteOrder.LITTLE_ENDIAN);
        }
        this.dtype = dtype;
        this.length = length;
        this.segmentElements = segmentElements;
        this.segments = segments;
        this.release = release;
    }

    /** Ordinary (pageable) direct memory, zeroed: the optimizer state of the CPU backend. */
    static HostBuffer allocateDirect(DType dtype, long length, long segmentElements) {
        int count = Math.toIntExact((length + segmentElements - 1) / segmentElements);
        ByteBuffer[] segments = new ByteBuffer[count];
        for (int s = 0; s < count; s++) {
            long n = Math.min(segmentElements, length - s * segmentElements);
            segments[s] = ByteBuffer.allocateDirect(Math.toIntExact(n * dtype.bytes()));
        }
        return new HostBuffer(dtype, length, segmentElements, segments, () -> {
        });
    }

    public DType dtype() {
        return dtype;
    }

    public long length() {
        return length;
    }

    public long segmentElements() {
        return segmentElements;
    }

    /** Reads elements {@code [from, from + n)} into {@code dst} from {@code offset}. */
    public void read(long from, double[] dst, int offset, int n) {
        forEachSegment(from, n, (seg, at, done, count) -> {
            int o = offset + done;
            switch (dtype) {
                case F64 -> {
                    DoubleBuffer b = seg.asDoubleBuffer();
                    for (int i = 0; i < count; i++) {
                        dst[o + i] = b.get(at + i);
                    }
                }
                case F32 -> {
                    FloatBuffer b = seg.asFloatBuffer();
                    for (int i = 0; i < count; i++) {
                        dst[o + i] = b.get(at + i);
                    }
                }
                default -> {
                    ShortBuffer b = seg.asShortBuffer();
                    for (int i = 0; i < count; i++) {
                        dst[o + i] = Bf16.toFloat(b.get(at + i));
                    }
                }
            }
        });
    }

    /** Writes {@code src[offset …]} into elements {@code [from, from + n)}, rounded to this buffer's type. */
    public void write(long from, double[] src, int offset, int n) {
        forEachSegment(from, n, (seg, at, done, count) -> {
            int o = offset + done;
            switch (dtype) {
                case F64 -> {
                    DoubleBuffer b = seg.asDoubleBuffer();
                    for (int i = 0; i < count; i++) {
                        b.put(at + i, src[o + i]);
                    }
                }
                case F32 -> {
                    FloatBuffer b = seg.asFloatBuffer();
                    for (int i = 0; i < count; i++) {
                        b.put(at + i, (float) src[o + i]);
                    }
                }
                default -> {
                    ShortBuffer b = seg.asShortBuffer();
                    for (int i = 0; i < count; i++) {
                        b.put(at + i, Bf16.fromFloat((float) src[o + i]));
                    }
                }
            }
        });
    }

    /** Sets every element to zero (pinned memory comes uninitialised), the segments in parallel. */
    public void zero() {
        check(0, 0);
        java.util.Arrays.stream(segments).parallel().forEach(seg -> {
            ByteBuffer b = seg.duplicate();
            byte[] zeros = new byte[1 << 16];
            while (b.hasRemaining()) {
                b.put(zeros, 0, Math.min(zeros.length, b.remaining()));
            }
        });
    }

    /**
     * The bytes of elements {@code [from, from + n)} as a buffer of their own (its address is theirs), for a copy by
     * the driver. The range must lie within one segment.
     */
    public ByteBuffer bytes(long from, int n) {
        check(from, n);
        int s = Math.toIntExact(from / segmentElements);
        if ((from + n - 1) / segmentElements != s && n > 0) {
            throw new IllegalArgumentException("elements [" + from + ", " + (from + n) + ") cross a segment boundary of "
                    + segmentElements);
        }
        int at = Math.toIntExact((from - s * segmentElements) * dtype.bytes());
        return segments[s].duplicate().position(at).limit(at + n * dtype.bytes()).slice();
    }

    private interface SegmentRange {
        void run(ByteBuffer segment, int firstElement, int done, int count);
    }

    private void forEachSegment(long from, int n, SegmentRange body) {
        check(from, n);
        int done = 0;
        while (done < n) {
            long at = from + done;
            int s = Math.toIntExact(at / segmentElements);
            int first = (int) (at - s * segmentElements);
            int count = (int) Math.min(n - done, segmentElements - first);
            body.run(segments[s], first, done, count);
            done += count;
        }
    }

    private void check(long from, int n) {
        if (closed) {
            throw new IllegalStateException("host buffer closed");
        }
        if (from < 0 || n < 0 || from + n > length) {
            throw new IndexOutOfBoundsException("elements [" + from + ", " + (from + n) + ") of " + length);
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            release.run();
        }
    }
}
