package io.easycontext.runtime.cuda;

/** A failed CUDA driver, cuBLAS or NCCL call: the message names the call and the library's error string. */
public class CudaException extends RuntimeException {
    private final String call;
    private final int code;

    public CudaException(String call, int code, String error) {
        super(call + " failed: " + error + " (" + code + ")");
        this.call = call;
        this.code = code;
    }

    public CudaException(String message, Throwable cause) {
        super(message, cause);
        this.call = null;
        this.code = -1;
    }

    /** The failed call, e.g. {@code cuMemAlloc}; null for errors that are not a single call's. */
    public String call() {
        return call;
    }

    public int code() {
        return code;
    }
}
