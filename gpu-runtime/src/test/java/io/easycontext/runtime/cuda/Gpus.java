package io.easycontext.runtime.cuda;

import org.junit.jupiter.api.Assumptions;

/** Test support for GPU tests. */
public final class Gpus {
    private Gpus() {
    }

    /** Skips the calling test, with the reason, where no GPU can be used. */
    public static CudaDevice assumeGpu() {
        Cuda.Availability a = Cuda.availability();
        Assumptions.assumeTrue(a.available(), () -> "no GPU: " + a.reason());
        return Cuda.device(0).makeCurrent();
    }
}
