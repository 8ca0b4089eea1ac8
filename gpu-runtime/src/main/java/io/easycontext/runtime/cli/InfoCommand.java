package io.easycontext.runtime.cli;

import io.easycontext.runtime.cuda.Cublas;
import io.easycontext.runtime.cuda.Cuda;
import io.easycontext.runtime.cuda.CudaDevice;
import io.easycontext.runtime.cuda.CudaStream;
import io.easycontext.runtime.cuda.DeviceMemoryPool;
import io.easycontext.runtime.cuda.KernelLibrary;
import io.easycontext.runtime.cuda.Nccl;

import java.io.PrintStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;

/** Prints the backends and devices this machine offers. Exits 0 without a GPU: the CPU backend always works. */
public final class InfoCommand implements Command {

    @Override
    public String name() {
        return "info";
    }

    @Override
    public String summary() {
        return "backends and devices: CPU, GPUs, CUDA driver, cuBLAS and NCCL versions, kernels in this jar";
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) {
        new Flags(args).finish();
        Runtime rt = Runtime.getRuntime();
        out.printf("cpu backend: %d cores, %.1f GiB memory (JVM max heap %.1f GiB)%n", rt.availableProcessors(),
                physicalMemory() / GIB, rt.maxMemory() / GIB);
        out.println("kernels in this jar: " + kernels());
        Cuda.Availability cuda = Cuda.availability();
        if (!cuda.available()) {
            out.println("cuda backend: no GPU available (" + cuda.reason() + ")");
            return 0;
        }
        out.println("cuda backend: driver supports CUDA " + Cuda.driverVersion() + ", " + cuda.deviceCount() + " GPU(s)");
        for (CudaDevice d : Cuda.devices()) {
            out.printf("  gpu %d: %s, %.1f GiB, compute capability %s, %d SMs%n", d.ordinal(), d.name(),
                    d.totalMemory() / GIB, d.computeCapability(), d.multiprocessors());
        }
        out.println("cublas: " + libraryVersion(this::cublasVersion));
        out.println("nccl: " + libraryVersion(Nccl::version));
        return 0;
    }

    private static final double GIB = 1L << 30;

    private String cublasVersion() {
        CudaDevice d = Cuda.device(0).makeCurrent();
        try (CudaStream s = new CudaStream();
             DeviceMemoryPool pool = new DeviceMemoryPool(d, s, 64L << 20);
             Cublas blas = new Cublas(d, pool)) {
            return blas.version();
        }
    }

    private static String libraryVersion(java.util.function.Supplier<String> version) {
        try {
            return version.get();
        } catch (Throwable e) {
            return "not loadable (" + e.getClass().getSimpleName() + ": " + e.getMessage() + ")";
        }
    }

    private static String kernels() {
        Properties m = KernelLibrary.manifest();
        if (!KernelLibrary.built()) {
            return "none (" + m.getProperty("reason") + ")";
        }
        return KernelLibrary.modules() + " built by nvcc " + m.getProperty("nvcc");
    }

    /** From /proc/meminfo: the slim runtime on the GPU machine has no jdk.management module. */
    private static long physicalMemory() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // Not Linux, or an unexpected format: the figure is informative only.
        }
        return -1;
    }
}
