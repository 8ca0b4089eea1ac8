package io.easycontext.runtime.optim.zero;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.backend.cpu.CpuBackend;
import io.easycontext.runtime.backend.cuda.CudaBackend;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tensor.Tensor;

/**
 * Copies between a backend's tensors and {@link HostBuffer}s for the offloaded optimizer state, on two lanes of their
 * own beside the backend's work, so that one chunk's copies overlap another chunk's update. On the GPU a lane is a
 * stream and a {@link Fence} an event; on the CPU backend everything is already host memory and runs at once, in
 * program order, so the same pipeline code gives the same results there.
 */
interface HostTransfers extends AutoCloseable {

    /** Where work is queued: the backend's own work, host-to-device copies, device-to-host copies. */
    enum Lane { COMPUTE, UPLOAD, DOWNLOAD }

    /** A point in one lane's queue. Recording it again moves it; a wait already queued keeps the old point. */
    interface Fence extends AutoCloseable {

        /** Marks everything queued on {@code lane} so far. */
        void record(Lane lane);

        /** Work queued on {@code waiter} from now on starts after the marked point (the host does not wait). */
        void await(Lane waiter);

        /** Blocks the calling thread until the marked point is passed. */
        void awaitOnHost();

        @Override
        void close();
    }

    /** Host memory the lanes copy at full speed (pinned on the GPU), uninitialised. */
    HostBuffer allocate(DType dtype, long length, long segmentElements);

    /** On the upload lane: {@code dst.numel()} elements of {@code src} from {@code from} into {@code dst}. */
    void upload(HostBuffer src, long from, Tensor dst);

    /** On the download lane: all of {@code src} into {@code dst} from {@code from}. */
    void download(Tensor src, HostBuffer dst, long from);

    Fence fence();

    /** Blocks until every lane has finished what was queued on it. */
    void synchronize();

    @Override
    void close();

    /**
     * The transfers of {@code backend}'s kind, as it {@link Backend#unwrap() unwraps}: the copies are the lanes' own
     * work beside the backend's ops, so a wrapper that watches the ops does not see them.
     */
    static HostTransfers of(Backend backend) {
        Backend plain = backend.unwrap();
        if (plain instanceof CudaBackend cuda) {
            return new CudaHostTransfers(cuda);
        }
        if (plain instanceof CpuBackend) {
            return new CpuHostTransfers(plain);
        }
        throw new IllegalArgumentException("no host offload for the " + backend.name() + " backend");
    }
}
