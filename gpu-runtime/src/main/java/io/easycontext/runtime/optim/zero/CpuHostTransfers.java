package io.easycontext.runtime.optim.zero;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tensor.Tensor;

/**
 * The CPU backend's transfers: its tensors are host memory already, so a copy is done when it returns and fences
 * have nothing to wait for. Values pass through float64, which is exact for the F32 and F64 types both sides hold.
 */
final class CpuHostTransfers implements HostTransfers {

    private static final Fence DONE = new Fence() {
        @Override
        public void record(Lane lane) {
        }

        @Override
        public void await(Lane waiter) {
        }

        @Override
        public void awaitOnHost() {
        }

        @Override
        public void close() {
        }
    };

    private final Backend backend;

    CpuHostTransfers(Backend backend) {
        this.backend = backend;
    }

    @Override
    public HostBuffer allocate(DType dtype, long length, long segmentElements) {
        return HostBuffer.allocateDirect(dtype, length, segmentElements);
    }

    @Override
    public void upload(HostBuffer src, long from, Tensor dst) {
        requireSameType(src, dst);
        double[] values = new double[Math.toIntExact(dst.numel())];
        src.read(from, values, 0, values.length);
        backend.uploadDoubles(dst, values);
    }

    @Override
    public void download(Tensor src, HostBuffer dst, long from) {
        requireSameType(dst, src);
        double[] values = backend.download(src);
        dst.write(from, values, 0, values.length);
    }

    static void requireSameType(HostBuffer host, Tensor tensor) {
        if (host.dtype() != tensor.dtype()) {
            throw new IllegalArgumentException("a copy between " + host.dtype() + " host memory and " + tensor
                    + " would convert; transfers copy bytes");
        }
    }

    @Override
    public Fence fence() {
        return DONE;
    }

    @Override
    public void synchronize() {
    }

    @Override
    public void close() {
    }
}
