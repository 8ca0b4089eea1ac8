package io.easycontext.runtime.cuda;

import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

/**
 * Result checking for the driver API. JCuda's own exception mode is left off so every failure carries the name
 * of the call that failed, not just the error code.
 */
public final class Cu {
    private Cu() {
    }

    public static void check(int result, String call) {
        if (result != CUresult.CUDA_SUCCESS) {
            throw new CudaException(call, result, errorString(result));
        }
    }

    static String errorString(int result) {
        String[] text = new String[1];
        try {
            if (JCudaDriver.cuGetErrorString(result, text) == CUresult.CUDA_SUCCESS && text[0] != null) {
                return CUresult.stringFor(result) + ": " + text[0];
            }
        } catch (Throwable ignored) {
            // The driver itself may be what failed to load; the enum name still says what happened.
        }
        return CUresult.stringFor(result);
    }
}
