package io.easycontext.runtime.cuda;

import jcuda.Pointer;
import jcuda.driver.JCudaDriver;

import java.nio.ByteBuffer;

/**
 * Page-locked host memory from {@code cuMemHostAlloc}: the driver copies it by DMA at the link's full speed and
 * asynchronously, which pageable memory allows neither. Portable, so any context may use it. Seen from Java as
 * direct byte buffers over ranges of it. One allocation is below 2 GiB: JCuda wraps what {@code cuMemHostAlloc}
 * returns in a byte buffer of the whole size, whose capacity is an {@code int} (larger sizes fail inside JCuda);
 * larger host memory is several allocations.
 */
public final class PinnedHostMemory implements AutoCloseable {
    /** The most one allocation holds. */
    public static final long MAX_BYTES = Integer.MAX_VALUE;

    private final Pointer pointer = new Pointer();
    private final long bytes;
    private boolean closed;

    /** Needs a current context (the device's, see {@link CudaDevice#makeCurrent()}). */
    public PinnedHostMemory(long bytes) {
        if (bytes <= 0 || bytes > MAX_BYTES) {
            throw new IllegalArgumentException("pinned allocation of " + bytes + " bytes; one allocation holds 1 to "
                    + MAX_BYTES);
        }
        Cu.check(JCudaDriver.cuMemHostAlloc(pointer, bytes, JCudaDriver.CU_MEMHOSTALLOC_PORTABLE), "cuMemHostAlloc");
        this.bytes = bytes;
    }

    public long bytes() {
        return bytes;
    }

    /** The bytes {@code [offset, offset + length)} as a direct buffer. */
    public ByteBuffer slice(long offset, int length) {
        if (closed || offset < 0 || length < 0 || offset + length > bytes) {
            throw new IllegalArgumentException("bytes [" + offset + ", " + (offset + length) + ") of " + bytes
                    + (closed ? " (freed)" : ""));
        }
        return pointer.getByteBuffer(offset, length);
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            Cu.check(JCudaDriver.cuMemFreeHost(pointer), "cuMemFreeHost");
        }
    }
}
