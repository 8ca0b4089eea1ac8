package io.easycontext.runtime.cuda;

import jcuda.Pointer;
import jcuda.driver.CUDA_MEMCPY2D;
import jcuda.driver.CUmemorytype;
import jcuda.driver.JCudaDriver;

/**
 * Synchronous host ⇄ device copies for set-up, tests and results; steps use stream-ordered copies instead, of which
 * the one strided device copy lives here too.
 */
public final class Transfers {
    private Transfers() {
    }

    public static void upload(DevicePtr dst, float[] src) {
        Cu.check(JCudaDriver.cuMemcpyHtoD(dst, Pointer.to(src), (long) src.length * Float.BYTES), "cuMemcpyHtoD");
    }

    public static void upload(DevicePtr dst, short[] src) {
        Cu.check(JCudaDriver.cuMemcpyHtoD(dst, Pointer.to(src), (long) src.length * Short.BYTES), "cuMemcpyHtoD");
    }

    public static void upload(DevicePtr dst, int[] src) {
        Cu.check(JCudaDriver.cuMemcpyHtoD(dst, Pointer.to(src), (long) src.length * Integer.BYTES), "cuMemcpyHtoD");
    }

    public static void upload(DevicePtr dst, double[] src) {
        Cu.check(JCudaDriver.cuMemcpyHtoD(dst, Pointer.to(src), (long) src.length * Double.BYTES), "cuMemcpyHtoD");
    }

    public static double[] downloadDoubles(DevicePtr src, int n) {
        double[] out = new double[n];
        Cu.check(JCudaDriver.cuMemcpyDtoH(Pointer.to(out), src, (long) n * Double.BYTES), "cuMemcpyDtoH");
        return out;
    }

    public static float[] downloadFloats(DevicePtr src, int n) {
        float[] out = new float[n];
        Cu.check(JCudaDriver.cuMemcpyDtoH(Pointer.to(out), src, (long) n * Float.BYTES), "cuMemcpyDtoH");
        return out;
    }

    public static short[] downloadShorts(DevicePtr src, int n) {
        short[] out = new short[n];
        Cu.check(JCudaDriver.cuMemcpyDtoH(Pointer.to(out), src, (long) n * Short.BYTES), "cuMemcpyDtoH");
        return out;
    }

    public static int[] downloadInts(DevicePtr src, int n) {
        int[] out = new int[n];
        Cu.check(JCudaDriver.cuMemcpyDtoH(Pointer.to(out), src, (long) n * Integer.BYTES), "cuMemcpyDtoH");
        return out;
    }

    /**
     * Stream-ordered device-to-device copy of {@code rows} rows of {@code width} bytes, from byte {@code srcX} of each
     * {@code srcPitch}-byte row of {@code src} to byte {@code dstX} of each {@code dstPitch}-byte row of {@code dst}.
     */
    public static void copy2d(CudaStream stream, DevicePtr src, long srcPitch, long srcX, DevicePtr dst, long dstPitch,
                              long dstX, long width, long rows) {
        if (rows == 0 || width == 0) {
            return;
        }
        CUDA_MEMCPY2D c = new CUDA_MEMCPY2D();
        c.srcMemoryType = CUmemorytype.CU_MEMORYTYPE_DEVICE;
        c.srcDevice = src;
        c.srcPitch = srcPitch;
        c.srcXInBytes = srcX;
        c.dstMemoryType = CUmemorytype.CU_MEMORYTYPE_DEVICE;
        c.dstDevice = dst;
        c.dstPitch = dstPitch;
        c.dstXInBytes = dstX;
        c.WidthInBytes = width;
        c.Height = rows;
        Cu.check(JCudaDriver.cuMemcpy2DAsync(c, stream.handle()), "cuMemcpy2DAsync");
    }
}
