package io.easycontext.runtime.cuda;

import io.easycontext.runtime.tensor.Bf16;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.bytedeco.cuda.global.cudart.CUDA_R_16BF;
import static org.bytedeco.cuda.global.cudart.CUDA_R_32F;

/**
 * A real kernel from kernels/ and a cuBLAS bf16 GEMM, both on memory from the pool, against CPU computations on
 * fresh random data. Bounds follow the device tool's METHOD.md: exact where the operation is exact (rounding to
 * bf16), float32-level for fp32-accumulated products of bf16 inputs, 1e-2 for bf16 outputs.
 */
@GpuTest
class KernelAndGemmGpuTest {
    private CudaDevice device;
    private CudaStream stream;
    private DeviceMemoryPool pool;
    private final Random random = new Random(System.nanoTime());

    @BeforeEach
    void setUp() {
        device = Gpus.assumeGpu();
        stream = new CudaStream();
        pool = new DeviceMemoryPool(device, stream, 1L << 30, 64L << 20);
    }

    @AfterEach
    void tearDown() {
        if (pool != null) {
            pool.close();
            stream.close();
        }
    }

    private float[] randomFloats(int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) random.nextGaussian();
        }
        return a;
    }

    /** Uploads fp32 values and converts them to bf16 with the cast kernel; returns the bf16 block. */
    private DeviceMemoryPool.Block toBf16(float[] values) {
        DeviceMemoryPool.Block f32 = pool.allocate(4L * values.length);
        DeviceMemoryPool.Block b16 = pool.allocate(2L * values.length);
        Transfers.upload(f32.ptr(), values);
        KernelLibrary.kernel(device, "elementwise", "cast_f32_to_bf16")
                .launch(stream, Kernel.blocks(values.length, 256), 256, f32.ptr(), b16.ptr(), (long) values.length);
        stream.synchronize();
        pool.free(f32);
        return b16;
    }

    @Test
    void castKernelRoundsExactlyLikeTheHost() {
        float[] x = randomFloats(100_003);
        DeviceMemoryPool.Block b = toBf16(x);
        short[] got = Transfers.downloadShorts(b.ptr(), x.length);
        for (int i = 0; i < x.length; i++) {
            assertThat(got[i]).as("element %d of %f", i, x[i]).isEqualTo(Bf16.fromFloat(x[i]));
        }
    }

    @Test
    void addScaledKernelMatchesTheHost() {
        int n = 65_537;
        float[] a = randomFloats(n);
        float[] x = randomFloats(n);
        DeviceMemoryPool.Block da = toBf16(a);
        DeviceMemoryPool.Block dx = toBf16(x);
        KernelLibrary.kernel(device, "elementwise", "add_scaled_bf16")
                .launch(stream, Kernel.blocks(n, 256), 256, da.ptr(), dx.ptr(), 0.37f, (long) n);
        stream.synchronize();
        short[] got = Transfers.downloadShorts(da.ptr(), n);
        for (int i = 0; i < n; i++) {
            // The device contracts a + alpha·x into one fused multiply-add: one rounding, as Math.fma.
            float want = Bf16.round(Math.fma(0.37f, Bf16.round(x[i]), Bf16.round(a[i])));
            assertThat(Bf16.toFloat(got[i])).as("element %d", i).isEqualTo(want);
        }
    }

    @ParameterizedTest(name = "m={0} n={1} k={2} transA={3} transB={4}")
    @CsvSource({"384,320,256,false,false", "257,129,193,true,false", "100,300,64,false,true", "128,96,160,true,true"})
    void bf16GemmWithFp32AccumulationMatchesTheCpu(int m, int n, int k, boolean transA, boolean transB) {
        float[] a = randomFloats(m * k);
        float[] b = randomFloats(k * n);
        DeviceMemoryPool.Block da = toBf16(a);
        DeviceMemoryPool.Block db = toBf16(b);
        DeviceMemoryPool.Block c32 = pool.allocate(4L * m * n);
        DeviceMemoryPool.Block c16 = pool.allocate(2L * m * n);
        try (Cublas blas = new Cublas(device, pool)) {
            blas.gemm(da.ptr(), CUDA_R_16BF, transA, db.ptr(), CUDA_R_16BF, transB, c32.ptr(), CUDA_R_32F, m, n, k, 1f, 0f);
            blas.gemm(da.ptr(), CUDA_R_16BF, transA, db.ptr(), CUDA_R_16BF, transB, c16.ptr(), CUDA_R_16BF, m, n, k, 1f, 0f);
            stream.synchronize();
        }
        double[] want = cpuMatmul(a, transA, b, transB, m, n, k);
        float[] got32 = Transfers.downloadFloats(c32.ptr(), m * n);
        short[] got16 = Transfers.downloadShorts(c16.ptr(), m * n);
        float[] got16f = new float[m * n];
        for (int i = 0; i < got16.length; i++) {
            got16f[i] = Bf16.toFloat(got16[i]);
        }
        assertThat(RelativeError.of(got32, want)).as("fp32 output").isLessThan(1e-5);
        assertThat(RelativeError.of(got16f, want)).as("bf16 output").isLessThan(1e-2);
    }

    @Test
    void poolReusesFreedMemoryWithoutAskingTheDriverAgain() {
        for (int round = 0; round < 3; round++) {
            DeviceMemoryPool.Block[] blocks = new DeviceMemoryPool.Block[20];
            for (int i = 0; i < blocks.length; i++) {
                blocks[i] = pool.allocate((i + 1) * 1_000_003L);
            }
            for (DeviceMemoryPool.Block b : blocks) {
                pool.free(b);
            }
        }
        int afterWarmUp = pool.driverAllocations();
        for (int round = 0; round < 5; round++) {
            DeviceMemoryPool.Block big = pool.allocate(50_000_000L);
            DeviceMemoryPool.Block small = pool.allocate(12_345L);
            pool.free(small);
            pool.free(big);
        }
        assertThat(pool.driverAllocations()).isEqualTo(afterWarmUp);
        assertThat(pool.inUse()).isZero();
        assertThat(pool.peakInUse()).isGreaterThanOrEqualTo(210 * 1_000_003L);
    }

    @Test
    void exceedingTheCapacityNamesTheNumbers() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> pool.allocate(2L << 30))
                .isInstanceOf(OutOfDeviceMemoryException.class)
                .hasMessageContaining("asked for 2.00 GiB")
                .hasMessageContaining("1.00 GiB pool");
    }

    static double[] cpuMatmul(float[] a, boolean transA, float[] b, boolean transB, int m, int n, int k) {
        double[] c = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    double av = Bf16.round(transA ? a[p * m + i] : a[i * k + p]);
                    double bv = Bf16.round(transB ? b[j * k + p] : b[p * n + j]);
                    s += av * bv;
                }
                c[i * n + j] = s;
            }
        }
        return c;
    }
}
