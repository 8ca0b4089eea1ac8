package io.easycontext.runtime.cuda;

import jcuda.driver.JCudaDriver;

import java.util.ArrayList;
import java.util.List;

/**
 * Entry to the CUDA driver: initialises it once and lists the devices. On a machine without a driver or GPU,
 * {@link #availability()} says why instead of throwing, so callers can fall back to the CPU backend.
 */
public final class Cuda {

    /** Whether CUDA can be used here, and if not, why. */
    public record Availability(boolean available, int deviceCount, String reason) {
    }

    private static Availability availability;
    private static List<CudaDevice> devices;

    private Cuda() {
    }

    public static synchronized Availability availability() {
        if (availability == null) {
            availability = probe();
        }
        return availability;
    }

    private static Availability probe() {
        try {
            int r = JCudaDriver.cuInit(0);
            if (r != 0) {
                return new Availability(false, 0, "cuInit failed: " + Cu.errorString(r));
            }
            int[] count = new int[1];
            Cu.check(JCudaDriver.cuDeviceGetCount(count), "cuDeviceGetCount");
            if (count[0] == 0) {
                return new Availability(false, 0, "the CUDA driver reports no GPU");
            }
            return new Availability(true, count[0], "");
        } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
            return new Availability(false, 0, "the CUDA driver library could not be loaded (" + firstLine(e) + ")");
        } catch (CudaException e) {
            return new Availability(false, 0, e.getMessage());
        }
    }

    private static String firstLine(Throwable e) {
        String m = String.valueOf(e.getMessage());
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }

    /** Throws with the reason when CUDA is not usable here. */
    public static void require() {
        Availability a = availability();
        if (!a.available()) {
            throw new CudaException("CUDA is not available: " + a.reason(), null);
        }
    }

    public static synchronized List<CudaDevice> devices() {
        require();
        if (devices == null) {
            List<CudaDevice> all = new ArrayList<>();
            for (int i = 0; i < availability.deviceCount(); i++) {
                all.add(new CudaDevice(i));
            }
            devices = List.copyOf(all);
        }
        return devices;
    }

    public static CudaDevice device(int ordinal) {
        List<CudaDevice> all = devices();
        if (ordinal < 0 || ordinal >= all.size()) {
            throw new IllegalArgumentException("no GPU " + ordinal + ": this node has " + all.size());
        }
        return all.get(ordinal);
    }

    /** The driver's CUDA version as major.minor, e.g. "13.0". */
    public static String driverVersion() {
        require();
        int[] v = new int[1];
        Cu.check(JCudaDriver.cuDriverGetVersion(v), "cuDriverGetVersion");
        return (v[0] / 1000) + "." + (v[0] % 1000) / 10;
    }
}
