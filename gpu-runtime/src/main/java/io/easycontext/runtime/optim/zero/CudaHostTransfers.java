package io.easycontext.runtime.optim.zero;

import io.easycontext.runtime.backend.cuda.CudaBackend;
import io.easycontext.runtime.backend.cuda.CudaTensor;
import io.easycontext.runtime.cuda.Cu;
import io.easycontext.runtime.cuda.CudaEvent;
import io.easycontext.runtime.cuda.CudaStream;
import io.easycontext.runtime.cuda.PinnedHostMemory;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tensor.Tensor;
import jcuda.Pointer;
import jcuda.driver.JCudaDriver;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * One GPU's transfers: a stream for each direction, so that uploads and downloads use both copy engines at once
 * while the backend's stream computes; pinned host memory, without which an "asynchronous" copy stages through a
 * driver buffer and blocks the host.
 */
final class CudaHostTransfers implements HostTransfers {

    private final CudaBackend backend;
    private final CudaStream upload;
    private final CudaStream download;

    CudaHostTransfers(CudaBackend backend) {
        this.backend = backend;
        backend.bindToCurrentThread();
        this.upload = new CudaStream();
        this.download = new CudaStream();
    }

    private CudaStream stream(Lane lane) {
        return switch (lane) {
            case COMPUTE -> backend.stream();
            case UPLOAD -> upload;
            case DOWNLOAD -> download;
        };
    }

    /** One pinned allocation per segment: segments are at most 1 GiB, below what one allocation can hold. */
    @Override
    public HostBuffer allocate(DType dtype, long length, long segmentElements) {
        backend.bindToCurrentThread();
        int count = Math.toIntExact((length + segmentElements - 1) / segmentElements);
        ByteBuffer[] segments = new ByteBuffer[count];
        List<PinnedHostMemory> memory = new ArrayList<>(count);
        try {
            for (int s = 0; s < count; s++) {
                int bytes = Math.toIntExact(Math.min(segmentElements, length - s * segmentElements) * dtype.bytes());
                PinnedHostMemory m = new PinnedHostMemory(Math.max(1, bytes));
                memory.add(m);
                segments[s] = m.slice(0, bytes);
            }
        } catch (RuntimeException e) {
            memory.forEach(PinnedHostMemory::close);
            throw e;
        }
        return new HostBuffer(dtype, length, segmentElements, segments, () -> memory.forEach(PinnedHostMemory::close));
    }

    @Override
    public void upload(HostBuffer src, long from, Tensor dst) {
        CpuHostTransfers.requireSameType(src, dst);
        CudaTensor t = CudaTensor.of(dst);
        Cu.check(JCudaDriver.cuMemcpyHtoDAsync(t.ptr(), Pointer.to(src.bytes(from, Math.toIntExact(t.numel()))),
                t.bytes(), upload.handle()), "cuMemcpyHtoDAsync");
    }

    @Override
    public void download(Tensor src, HostBuffer dst, long from) {
        CpuHostTransfers.requireSameType(dst, src);
        CudaTensor t = CudaTensor.of(src);
        Cu.check(JCudaDriver.cuMemcpyDtoHAsync(Pointer.to(dst.bytes(from, Math.toIntExact(t.numel()))), t.ptr(),
                t.bytes(), download.handle()), "cuMemcpyDtoHAsync");
    }

    @Override
    public Fence fence() {
        CudaEvent event = CudaEvent.forOrdering();
        return new Fence() {
            @Override
            public void record(Lane lane) {
                event.record(stream(lane));
            }

            @Override
            public void await(Lane waiter) {
                stream(waiter).waitFor(event);
            }

            @Override
            public void awaitOnHost() {
                event.synchronize();
            }

            @Override
            public void close() {
                event.close();
            }
        };
    }

    @Override
    public void synchronize() {
        upload.synchronize();
        download.synchronize();
        backend.synchronize();
    }

    @Override
    public void close() {
        backend.bindToCurrentThread();
        synchronize();
        upload.close();
        download.close();
    }
}
