package io.easycontext.runtime.cuda;

import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.javacpp.FloatPointer;

import static org.bytedeco.cuda.global.cublas.CUBLAS_COMPUTE_32F;
import static org.bytedeco.cuda.global.cublas.CUBLAS_GEMM_DEFAULT;
import static org.bytedeco.cuda.global.cublas.CUBLAS_OP_N;
import static org.bytedeco.cuda.global.cublas.CUBLAS_OP_T;
import static org.bytedeco.cuda.global.cublas.cublasCreate_v2;
import static org.bytedeco.cuda.global.cublas.cublasDestroy_v2;
import static org.bytedeco.cuda.global.cublas.cublasGemmEx;
import static org.bytedeco.cuda.global.cublas.cublasGetStatusName;
import static org.bytedeco.cuda.global.cublas.cublasGetStatusString;
import static org.bytedeco.cuda.global.cublas.cublasGetVersion_v2;
import static org.bytedeco.cuda.global.cublas.cublasSetStream_v2;
import static org.bytedeco.cuda.global.cublas.cublasSetWorkspace_v2;

/**
 * cuBLAS (through JavaCPP) on one device and stream, with its workspace taken from the device's pool so that
 * GEMMs inside a step never reach the driver's allocator. The API is row-major, as the rest of the runtime.
 */
public final class Cublas implements AutoCloseable {
    private static final long WORKSPACE = 32L << 20;

    private final cublasContext handle = new cublasContext();
    private final DeviceMemoryPool.Block workspace;
    private final DeviceMemoryPool pool;
    private final FloatPointer alpha = new FloatPointer(1);
    private final FloatPointer beta = new FloatPointer(1);

    public Cublas(CudaDevice device, DeviceMemoryPool pool) {
        device.makeCurrent();
        this.pool = pool;
        check(cublasCreate_v2(handle), "cublasCreate");
        check(cublasSetStream_v2(handle, JavaCpp.stream(pool.stream())), "cublasSetStream");
        this.workspace = pool.allocate(WORKSPACE);
        check(cublasSetWorkspace_v2(handle, JavaCpp.pointer(workspace.address()), WORKSPACE), "cublasSetWorkspace");
    }

    static void check(int status, String call) {
        if (status != 0) {
            String name = cublasGetStatusName(status).getString();
            String text = cublasGetStatusString(status).getString();
            throw new CudaException(call, status, name + ": " + text);
        }
    }

    /** The cuBLAS library version, e.g. "13.0.2". */
    public String version() {
        int[] v = new int[1];
        check(cublasGetVersion_v2(handle, v), "cublasGetVersion");
        return (v[0] / 10000) + "." + (v[0] / 100 % 100) + "." + (v[0] % 100);
    }

    /**
     * Row-major {@code C[m,n] = alpha · op(A)[m,k] · op(B)[k,n] + beta · C} with fp32 accumulation, where A, B and
     * C have the given {@code cudaDataType}s (e.g. {@code CUDA_R_16BF}, {@code CUDA_R_32F}) and {@code op}
     * transposes a matrix stored the other way round.
     */
    public void gemm(DevicePtr a, int aType, boolean transA, DevicePtr b, int bType, boolean transB,
                     DevicePtr c, int cType, int m, int n, int k, float alphaValue, float betaValue) {
        // Row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: swap the operands, keep the flags.
        alpha.put(alphaValue);
        beta.put(betaValue);
        check(cublasGemmEx(handle,
                transB ? CUBLAS_OP_T : CUBLAS_OP_N, transA ? CUBLAS_OP_T : CUBLAS_OP_N,
                n, m, k, alpha,
                JavaCpp.pointer(b), bType, transB ? k : n,
                JavaCpp.pointer(a), aType, transA ? m : k,
                beta, JavaCpp.pointer(c), cType, n,
                CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT), "cublasGemmEx");
    }

    @Override
    public void close() {
        check(cublasDestroy_v2(handle), "cublasDestroy");
        pool.free(workspace);
        alpha.close();
        beta.close();
    }
}
