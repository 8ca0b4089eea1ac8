package io.easycontext.runtime.backend.cuda;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.cuda.Cu;
import io.easycontext.runtime.cuda.CudaEvent;
import io.easycontext.runtime.cuda.CudaStream;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tensor.Tensor;
import io.easycontext.runtime.cuda.PinnedHostMemory;
import jcuda.Pointer;
import jcuda.driver.JCudaDriver;

import java.util.ArrayList;
import java.util.List;

/**
 * Parks tensors in page-locked host memory for one GPU backend: activation checkpoints that the backward needs
 * again only after every later layer. The copies run on a stream of their own, ordered against the compute stream by
 * events, so that a layer's checkpoint travels to the host while the next layer computes, and travels back while the
 * layer after it in the backward computes. Page-locked buffers are costly to allocate (the driver maps every page),
 * so they are kept and reused across steps until the backend closes. A tensor travels in pieces of at most
 * {@link #PIECE_BYTES}, as one page-locked allocation must stay below 2 GiB ({@link PinnedHostMemory}).
 */
final class HostParking implements AutoCloseable {

    static final long PIECE_BYTES = 1L << 30;

    private final CudaBackend backend;
    private final CudaStream copies = new CudaStream();
    private final List<PinnedHostMemory> idle = new ArrayList<>();
    private final List<PinnedHostMemory> all = new ArrayList<>();

    HostParking(CudaBackend backend) {
        this.backend = backend;
    }

    /** Host bytes held, in use or idle. */
    synchronized long hostBytes() {
        return all.stream().mapToLong(PinnedHostMemory::bytes).sum();
    }

    Backend.Parked park(Tensor tensor) {
        CudaTensor t = CudaTensor.of(tensor);
        List<PinnedHostMemory> pieces = new ArrayList<>();
        for (long at = 0; at < t.bytes(); at += PIECE_BYTES) {
            pieces.add(take(Math.min(PIECE_BYTES, t.bytes() - at)));
        }
        try (CudaEvent produced = CudaEvent.forOrdering().record(backend.stream())) {
            copies.waitFor(produced);
        }
        long at = 0;
        for (PinnedHostMemory piece : pieces) {
            int n = Math.toIntExact(Math.min(piece.bytes(), t.bytes() - at));
            Cu.check(JCudaDriver.cuMemcpyDtoHAsync(Pointer.to(piece.slice(0, n)), t.ptr().plus(at), n,
                    copies.handle()), "cuMemcpyDtoHAsync");
            at += n;
        }
        t.usedOn(copies);
        return new Parked(pieces, t.dtype(), t.shape(), t.bytes());
    }

    private final class Parked implements Backend.Parked {
        private final List<PinnedHostMemory> pieces;
        private final DType dtype;
        private final int[] shape;
        private final long bytes;
        private CudaTensor back;
        private CudaEvent arrived;
        private boolean done;

        Parked(List<PinnedHostMemory> pieces, DType dtype, int[] shape, long bytes) {
            this.pieces = pieces;
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
            long at = 0;
            for (PinnedHostMemory piece : pieces) {
                int n = Math.toIntExact(Math.min(piece.bytes(), bytes - at));
                Cu.check(JCudaDriver.cuMemcpyHtoDAsync(back.ptr().plus(at), Pointer.to(piece.slice(0, n)), n,
                        copies.handle()), "cuMemcpyHtoDAsync");
                at += n;
            }
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
            // A later park reuses the pieces only through the copy stream, after this copy back: no wait needed.
            give(pieces);
        }
    }

    /** An idle piece of exactly {@code bytes} (a step parks the same sizes again), else a new one. */
    private synchronized PinnedHostMemory take(long bytes) {
        for (PinnedHostMemory piece : idle) {
            if (piece.bytes() == bytes) {
                idle.remove(piece);
                return piece;
            }
        }
        PinnedHostMemory piece = new PinnedHostMemory(bytes);
        all.add(piece);
        return piece;
    }

    private synchronized void give(List<PinnedHostMemory> pieces) {
        idle.addAll(pieces);
    }

    @Override
    public synchronized void close() {
        copies.synchronize();
        all.forEach(PinnedHostMemory::close);
        all.clear();
        idle.clear();
        copies.close();
    }
}
