package io.easycontext.runtime.cuda;

import jcuda.driver.CUmodule;
import jcuda.driver.JCudaDriver;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The PTX that the build put in this jar ({@code kernels/<module>.<arch>.ptx}, listed in
 * {@code kernels/manifest.properties}), loaded per device for the best architecture the device runs:
 * {@code sm_90a} on Hopper where a module has it, else {@code sm_90}, else the portable {@code sm_80}.
 */
public final class KernelLibrary {
    private static final String DIR = "kernels/";
    private static final Map<String, Kernel> KERNELS = new ConcurrentHashMap<>();
    private static final Map<String, CUmodule> MODULES = new ConcurrentHashMap<>();
    private static Properties manifest;

    private KernelLibrary() {
    }

    /** What the build recorded: whether nvcc ran, its version, and the modules. */
    public static synchronized Properties manifest() {
        if (manifest == null) {
            Properties p = new Properties();
            try (InputStream in = KernelLibrary.class.getClassLoader().getResourceAsStream(DIR + "manifest.properties")) {
                if (in == null) {
                    p.setProperty("built", "false");
                    p.setProperty("reason", "this jar has no kernels/manifest.properties (built without the kernel step)");
                } else {
                    p.load(in);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            manifest = p;
        }
        return manifest;
    }

    public static boolean built() {
        return Boolean.parseBoolean(manifest().getProperty("built"));
    }

    public static List<String> modules() {
        String m = manifest().getProperty("modules", "");
        return m.isBlank() ? List.of() : Arrays.asList(m.split(","));
    }

    /** Says plainly why no kernels can run, or returns quietly when they can. */
    public static void requireBuilt() {
        if (!built()) {
            throw new CudaException("this jar holds no CUDA kernels: " + manifest().getProperty("reason")
                    + "; rebuild gpu-runtime on a machine with nvcc (CUDA 12.8+) to use the CUDA backend", null);
        }
    }

    /** The PTX architecture chosen for a device: the most specific one this module was built for. */
    static String architecture(CudaDevice device, String module) {
        int cc = device.computeMajor() * 10 + device.computeMinor();
        if (cc < 80) {
            throw new CudaException(device + " has compute capability " + device.computeCapability()
                    + "; the kernels need 8.0 or newer (bf16)", null);
        }
        if (cc == 90 && resourceExists(module, "sm_90a")) {
            return "sm_90a";
        }
        return cc >= 90 ? "sm_90" : "sm_80";
    }

    /** Whether this jar holds code of {@code module} that {@code device} can load. */
    public static boolean builtFor(CudaDevice device, String module) {
        return built() && resourceExists(module, architecture(device, module));
    }

    private static boolean resourceExists(String module, String arch) {
        return KernelLibrary.class.getClassLoader().getResource(DIR + module + "." + arch + ".ptx") != null;
    }

    /** The function {@code function} of {@code module}, loaded into the device's primary context. */
    public static Kernel kernel(CudaDevice device, String module, String function) {
        return KERNELS.computeIfAbsent(device.ordinal() + "/" + module + "/" + function, key -> {
            CUmodule m = MODULES.computeIfAbsent(device.ordinal() + "/" + module, k -> load(device, module));
            return Kernel.of(m, module, function);
        });
    }

    private static CUmodule load(CudaDevice device, String module) {
        requireBuilt();
        String arch = architecture(device, module);
        String path = DIR + module + "." + arch + ".ptx";
        byte[] ptx;
        try (InputStream in = KernelLibrary.class.getClassLoader().getResourceAsStream(path)) {
            if (in == null) {
                throw new CudaException("kernel module '" + module + "' is not in this jar (looked for " + path
                        + "; built: " + modules() + ")", null);
            }
            ptx = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        device.makeCurrent();
        CUmodule m = new CUmodule();
        // The driver wants NUL-terminated PTX text.
        Cu.check(JCudaDriver.cuModuleLoadData(m, Arrays.copyOf(ptx, ptx.length + 1)), "cuModuleLoadData(" + path + ")");
        return m;
    }
}
