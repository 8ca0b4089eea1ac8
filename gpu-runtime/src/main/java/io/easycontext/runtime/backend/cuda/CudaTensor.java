package io.easycontext.runtime.backend.cuda;

import io.easycontext.runtime.cuda.CudaStream;
import io.easycontext.runtime.cuda.DeviceMemoryPool;
import io.easycontext.runtime.cuda.DevicePtr;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tensor.Tensor;

import java.util.Arrays;

/** A tensor in device memory: either the owner of a pool block, or a view into another tensor's memory. */
public final class CudaTensor implements Tensor {
    private final int[] shape;
    private final DType dtype;
    private final DevicePtr ptr;
    private final DeviceMemoryPool pool;
    private DeviceMemoryPool.Block block;

    CudaTensor(DType dtype, int[] shape, DeviceMemoryPool pool, DeviceMemoryPool.Block block) {
        this.dtype = dtype;
        this.shape = shape.clone();
        this.pool = pool;
        this.block = block;
        this.ptr = block.ptr();
    }

    CudaTensor(DType dtype, int[] shape, DevicePtr ptr) {
        this.dtype = dtype;
        this.shape = shape.clone();
        this.ptr = ptr;
        this.pool = null;
    }

    public static CudaTensor of(Tensor t) {
        if (t instanceof CudaTensor c) {
            if (c.pool != null && c.block == null) {
                throw new IllegalStateException("use of a closed CUDA tensor " + c);
            }
            return c;
        }
        throw new IllegalArgumentException("not a CUDA tensor: " + t);
    }

    public DevicePtr ptr() {
        return ptr;
    }

    /**
     * Declares that {@code other} reads or writes this tensor's memory, so that the pool reuses it only after that
     * stream's work queued until the tensor is closed. A view owns no memory: declare it on the tensor it views.
     */
    public void usedOn(CudaStream other) {
        if (pool != null && block != null) {
            pool.recordUse(block, other);
        }
    }

    public long bytes() {
        return numel() * dtype.bytes();
    }

    @Override
    public int[] shape() {
        return shape.clone();
    }

    @Override
    public DType dtype() {
        return dtype;
    }

    @Override
    public void close() {
        if (pool != null && block != null) {
            pool.free(block);
            block = null;
        }
    }

    @Override
    public String toString() {
        return "CudaTensor" + Arrays.toString(shape) + dtype + "@" + ptr;
    }
}
