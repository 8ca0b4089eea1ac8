package io.easycontext.runtime.cuda;

import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.JCudaDriver;

/**
 * One GPU and its primary context. Both bindings (JCuda's driver API and JavaCPP's cuBLAS/NCCL, which use the
 * runtime API) see the primary context, so device pointers pass between them unchanged.
 */
public final class CudaDevice {
    private final int ordinal;
    private final CUdevice device = new CUdevice();
    private final String name;
    private final long totalMemory;
    private final int major;
    private final int minor;
    private final int multiprocessors;
    private CUcontext context;

    CudaDevice(int ordinal) {
        this.ordinal = ordinal;
        Cu.check(JCudaDriver.cuDeviceGet(device, ordinal), "cuDeviceGet");
        byte[] raw = new byte[256];
        Cu.check(JCudaDriver.cuDeviceGetName(raw, raw.length, device), "cuDeviceGetName");
        int len = 0;
        while (len < raw.length && raw[len] != 0) {
            len++;
        }
        this.name = new String(raw, 0, len, java.nio.charset.StandardCharsets.UTF_8);
        long[] mem = new long[1];
        Cu.check(JCudaDriver.cuDeviceTotalMem(mem, device), "cuDeviceTotalMem");
        this.totalMemory = mem[0];
        this.major = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
        this.minor = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
        this.multiprocessors = attribute(CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
    }

    public int attribute(int attribute) {
        int[] v = new int[1];
        Cu.check(JCudaDriver.cuDeviceGetAttribute(v, attribute, device), "cuDeviceGetAttribute");
        return v[0];
    }

    /** Retains the primary context (once) and makes it current on the calling thread. */
    public synchronized CudaDevice makeCurrent() {
        if (context == null) {
            CUcontext c = new CUcontext();
            Cu.check(JCudaDriver.cuDevicePrimaryCtxRetain(c, device), "cuDevicePrimaryCtxRetain");
            context = c;
        }
        Cu.check(JCudaDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent");
        return this;
    }

    /** Free and total bytes as the driver sees them now (needs the context current). */
    public long[] memoryInfo() {
        makeCurrent();
        long[] free = new long[1];
        long[] total = new long[1];
        Cu.check(JCudaDriver.cuMemGetInfo(free, total), "cuMemGetInfo");
        return new long[]{free[0], total[0]};
    }

    public int ordinal() {
        return ordinal;
    }

    public String name() {
        return name;
    }

    public long totalMemory() {
        return totalMemory;
    }

    public int computeMajor() {
        return major;
    }

    public int computeMinor() {
        return minor;
    }

    public String computeCapability() {
        return major + "." + minor;
    }

    public int multiprocessors() {
        return multiprocessors;
    }

    @Override
    public String toString() {
        return "cuda:" + ordinal + " " + name + " (sm_" + major + minor + ")";
    }
}
