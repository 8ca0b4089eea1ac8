package io.easycontext.runtime.cuda;

import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;
import jcuda.driver.JCudaDriver;

/** A non-blocking stream of the current context; work on it does not serialise against the legacy stream. */
public final class CudaStream implements AutoCloseable {

    private static final class Handle extends CUstream {
        long address() {
            return getNativePointer();
        }
    }

    private final Handle handle = new Handle();
    private boolean closed;

    public CudaStream() {
        Cu.check(JCudaDriver.cuStreamCreate(handle, CUstream_flags.CU_STREAM_NON_BLOCKING), "cuStreamCreate");
    }

    public CUstream handle() {
        return handle;
    }

    public long address() {
        return handle.address();
    }

    public void synchronize() {
        Cu.check(JCudaDriver.cuStreamSynchronize(handle), "cuStreamSynchronize");
    }

    /** Makes later work on this stream wait for {@code event} (no host wait). */
    public void waitFor(CudaEvent event) {
        Cu.check(JCudaDriver.cuStreamWaitEvent(handle, event.handle(), 0), "cuStreamWaitEvent");
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            Cu.check(JCudaDriver.cuStreamDestroy(handle), "cuStreamDestroy");
        }
    }
}
