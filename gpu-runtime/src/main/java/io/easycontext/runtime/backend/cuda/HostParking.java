package io.easycontext.runtime.backend.cuda;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.cuda.Cu;
import io.easycontext.runtime.cuda.CudaEvent;
import io.easycontext.runtime.cuda.CudaStream;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tensor.Tensor;
import jcuda.Pointer;
import jcuda.driver.JCudaDriver;

import java.util.ArrayList;
import java.util.List;

/**
 * Parks tensors in page-locked host memory for one GPU backend: activation checkpoints that the backward needs
 * again only after every later layer. The copies run on a stream of their own, ordered against the compute stream by
 * events, so that a layer's checkpoint travels to the host while the next layer computes, and travels back while the
 * layer after it in the backward computes. Page-locked buffers are costly to allocate (the driver maps every page),
 * so they are kept and reused across steps until the backend closes.
 */
final class HostParking implements AutoCloseable {

    /** A page-locked host buffer. */
    private record HostBuffer(Pointer pointer, long bytes) {
    }

    private final CudaBackend backend;
    private final CudaStream copies = new CudaStream();
    private final List<HostBuffer> idle = new ArrayList<>();
    private final List<HostBuffer> all = new ArrayList<>();

    HostParking(CudaBackend backend) {
        this.backend = backend;
    }

    /** Host bytes held, in use or idle. */
    synchronized long hostBytes() {
        return all.stream().mapToLong(HostBuffer::bytes).sum();
    }

    Backend.Parked park(Tensor tensor) {
        CudaTensor t = CudaTensor.of(tensor);
        long bytes = t.bytes();
        HostBuffer host = take(bytes);
        try (CudaEvent produced = CudaEvent.forOrdering().record(backend.stream())) {
            copies.waitFor(produced);
        }
        Cu.check(JCudaDriver.cuMemcpyDtoHAsync(host.pointer(), t.ptr(), bytes, copies.handle()), "cuMemcpyDtoHAsync");
        t.usedOn(copies);
        return new Parked(host, t.dtype(), t.shape(), bytes);
    }

    private final class Parked implements Backend.Parked {
        private final HostBuffer host;
        private final DType dtype;
        private final int[] shape;
        private final long bytes;
        private CudaTensor back;
        private CudaEvent arrived;
        private boolean done;

        Parked(HostBuffer host, DType dtype, int[] shape, long bytes) {
            this.host = host;
            this.dtype = dtype;
            this.shape = shape;
            this.bytes = bytes;
        }

        @Override
        public void prefetch() {
            if (done) {
                throw new IllegalStateException("a parked tensor used after its restore or close");
            }
            if (back != null) {
                return;
            }
            back = backend.allocate(dtype, shape);
            // The new block may have been another tensor's until now: the copy waits for compute to let go of it.
            try (CudaEvent free = CudaEvent.forOrdering().record(backend.stream())) {
                copies.waitFor(free);
            }
            Cu.check(JCudaDriver.cuMemcpyHtoDAsync(back.ptr(), host.pointer(), bytes, copies.handle()),
                    "cuMemcpyHtoDAsync");
            back.usedOn(copies);
            arrived = CudaEvent.forOrdering().record(copies);
        }

        @Override
        public Tensor restore() {
            prefetch();
            backend.stream().waitFor(arrived);
            CudaTensor out = back;
            back = null;
            close();
            return out;
        }

        @Override
        public void close() {
            if (done) {
                return;
            }
            done = true;
            if (back != null) {
                back.close();
                back = null;
            }
            if (arrived != null) {
                arrived.close();
            }
            // A later park reuses the buffer only through the copy stream, after this copy back: no wait needed.
            give(host);
        }
    }

    private synchronized HostBuffer take(long bytes) {
        HostBuffer best = null;
        for (HostBuffer b : idle) {
            if (b.bytes() >= bytes && (best == null || b.bytes() < best.bytes())) {
                best = b;
            }
        }
        if (best != null) {
            idle.remove(best);
            return best;
        }
        Pointer p = new Pointer();
        Cu.check(JCudaDriver.cuMemHostAlloc(p, bytes, JCudaDriver.CU_MEMHOSTALLOC_PORTABLE), "cuMemHostAlloc of "
                + bytes + " bytes (activation offload)");
        HostBuffer b = new HostBuffer(p, bytes);
        all.add(b);
        return b;
    }

    private synchronized void give(HostBuffer b) {
        idle.add(b);
    }

    @Override
    public synchronized void close() {
        copies.synchronize();
        for (HostBuffer b : all) {
            Cu.check(JCudaDriver.cuMemFreeHost(b.pointer()), "cuMemFreeHost");
        }
        all.clear();
        idle.clear();
        copies.close();
    }
}
