package io.easycontext.runtime.cuda;

import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUfunction_attribute;
import jcuda.driver.CUmodule;
import jcuda.driver.JCudaDriver;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A kernel ready to launch. Arguments are passed as Java values whose types map to the kernel's parameters:
 * {@link CUdeviceptr} (and {@link DevicePtr}) → pointer, {@code Integer} → int, {@code Long} → long long,
 * {@code Float} → float, {@code Double} → double. A wrong Java type fails before the launch.
 */
public final class Kernel {
    private final CUfunction function;
    private final String name;
    /** residentBlocks per block size, asked of the driver once. */
    private final Map<Integer, Integer> resident = new ConcurrentHashMap<>();

    private Kernel(CUfunction function, String name) {
        this.function = function;
        this.name = name;
    }

    static Kernel of(CUmodule module, String moduleName, String function) {
        CUfunction f = new CUfunction();
        Cu.check(JCudaDriver.cuModuleGetFunction(f, module, function),
                "cuModuleGetFunction(" + moduleName + "." + function + ")");
        return new Kernel(f, moduleName + "." + function);
    }

    public String name() {
        return name;
    }

    /** Allows more than 48 KiB of dynamic shared memory, as large tiles need. */
    public Kernel maxDynamicSharedMemory(int bytes) {
        Cu.check(JCudaDriver.cuFuncSetAttribute(function,
                CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes), "cuFuncSetAttribute(" + name + ")");
        return this;
    }

    /** Registers a thread as the driver compiled the kernel (what a launch reserves per thread). */
    public int registers() {
        int[] n = new int[1];
        Cu.check(JCudaDriver.cuFuncGetAttribute(n, CUfunction_attribute.CU_FUNC_ATTRIBUTE_NUM_REGS, function),
                "cuFuncGetAttribute(" + name + ")");
        return n[0];
    }

    /** Blocks of {@code threads} threads, without dynamic shared memory, that one multiprocessor holds at once. */
    public int residentBlocks(int threads) {
        return resident.computeIfAbsent(threads, t -> {
            int[] n = new int[1];
            Cu.check(JCudaDriver.cuOccupancyMaxActiveBlocksPerMultiprocessor(n, function, t, 0),
                    "cuOccupancyMaxActiveBlocksPerMultiprocessor(" + name + ")");
            return Math.max(1, n[0]);
        });
    }

    /** A 1-D grid of {@code gridX} blocks of {@code blockX} threads. */
    public void launch(CudaStream stream, int gridX, int blockX, Object... args) {
        launchGrid(stream, gridX, 1, 1, blockX, 1, 1, 0, args);
    }

    public void launchGrid(CudaStream stream, int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ,
                           int sharedBytes, Object... args) {
        Pointer[] params = new Pointer[args.length];
        for (int i = 0; i < args.length; i++) {
            params[i] = parameter(args[i], i);
        }
        Cu.check(JCudaDriver.cuLaunchKernel(function, gridX, gridY, gridZ, blockX, blockY, blockZ, sharedBytes,
                stream.handle(), Pointer.to(params), null), "cuLaunchKernel(" + name + ")");
    }

    private Pointer parameter(Object a, int index) {
        if (a instanceof CUdeviceptr p) {
            return Pointer.to(p);
        } else if (a instanceof Integer v) {
            return Pointer.to(new int[]{v});
        } else if (a instanceof Long v) {
            return Pointer.to(new long[]{v});
        } else if (a instanceof Float v) {
            return Pointer.to(new float[]{v});
        } else if (a instanceof Double v) {
            return Pointer.to(new double[]{v});
        } else if (a instanceof long[] v) {
            // A structure passed by value (a tensor map): the driver copies as many bytes as the parameter has.
            return Pointer.to(v);
        }
        throw new IllegalArgumentException(name + ": argument " + index + " has unsupported type "
                + (a == null ? "null" : a.getClass().getSimpleName()));
    }

    /** Blocks of {@code threads} needed to cover {@code n} elements. */
    public static int blocks(long n, int threads) {
        long b = (n + threads - 1) / threads;
        if (b > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(n + " elements need more than 2^31 blocks of " + threads);
        }
        return (int) Math.max(1, b);
    }
}
