package io.easycontext.runtime.cuda;

import static org.bytedeco.cuda.global.nccl.ncclGetErrorString;
import static org.bytedeco.cuda.global.nccl.ncclGetVersion;

/** NCCL (through JavaCPP): result checking and the library version. */
public final class Nccl {
    private Nccl() {
    }

    public static void check(int result, String call) {
        if (result != 0) {
            throw new CudaException(call, result, ncclGetErrorString(result).getString());
        }
    }

    /** The loaded NCCL's version, e.g. "2.28.3". */
    public static String version() {
        int[] v = new int[1];
        check(ncclGetVersion(v), "ncclGetVersion");
        // Since 2.9 the code is major·10000 + minor·100 + patch.
        return (v[0] / 10000) + "." + (v[0] / 100 % 100) + "." + (v[0] % 100);
    }
}
