package io.easycontext.runtime.cuda;

import jcuda.driver.CUdeviceptr;

/**
 * A device address usable by both bindings: JCuda takes it as a {@link CUdeviceptr}, JavaCPP (cuBLAS, NCCL)
 * through {@link JavaCpp#pointer(long)} on {@link #address()}.
 */
public final class DevicePtr extends CUdeviceptr {

    public DevicePtr() {
    }

    private DevicePtr(DevicePtr base, long byteOffset) {
        super(base, byteOffset);
    }

    /** The raw device address. JCuda keeps a view's offset apart from the base, so both count. */
    public long address() {
        return getNativePointer() + getByteOffset();
    }

    /** The address {@code bytes} further on, sharing nothing but the number. */
    public DevicePtr plus(long bytes) {
        return new DevicePtr(this, bytes);
    }

    @Override
    public String toString() {
        return String.format("0x%x", address());
    }
}
