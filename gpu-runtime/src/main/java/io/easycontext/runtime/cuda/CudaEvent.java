package io.easycontext.runtime.cuda;

import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

/** A CUDA event: for ordering streams (no timing) or, when asked, for timing. */
public final class CudaEvent implements AutoCloseable {
    private final CUevent handle = new CUevent();
    private boolean closed;

    private CudaEvent(int flags) {
        Cu.check(JCudaDriver.cuEventCreate(handle, flags), "cuEventCreate");
    }

    /** An event for ordering only; cheaper than a timing event. */
    public static CudaEvent forOrdering() {
        return new CudaEvent(CUevent_flags.CU_EVENT_DISABLE_TIMING);
    }

    public static CudaEvent forTiming() {
        return new CudaEvent(CUevent_flags.CU_EVENT_DEFAULT);
    }

    CUevent handle() {
        return handle;
    }

    public CudaEvent record(CudaStream stream) {
        Cu.check(JCudaDriver.cuEventRecord(handle, stream.handle()), "cuEventRecord");
        return this;
    }

    /** True once all work before the record has finished; never blocks. */
    public boolean isDone() {
        int r = JCudaDriver.cuEventQuery(handle);
        if (r == CUresult.CUDA_ERROR_NOT_READY) {
            return false;
        }
        Cu.check(r, "cuEventQuery");
        return true;
    }

    public void synchronize() {
        Cu.check(JCudaDriver.cuEventSynchronize(handle), "cuEventSynchronize");
    }

    /** Milliseconds from {@code start} to this event (both timing events, both complete). */
    public float millisSince(CudaEvent start) {
        float[] ms = new float[1];
        Cu.check(JCudaDriver.cuEventElapsedTime(ms, start.handle, handle), "cuEventElapsedTime");
        return ms[0];
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            Cu.check(JCudaDriver.cuEventDestroy(handle), "cuEventDestroy");
        }
    }
}
