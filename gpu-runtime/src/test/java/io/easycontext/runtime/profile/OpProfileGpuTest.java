package io.easycontext.runtime.profile;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.backend.cuda.CudaBackend;
import io.easycontext.runtime.cuda.GpuTest;
import io.easycontext.runtime.cuda.Gpus;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** On a GPU the ops are timed by events on the compute stream: the GPU's time, not the host's time to queue. */
@GpuTest
class OpProfileGpuTest {

    @Test
    void gemmsTakeAtLeastTheirFlopsAtPeakAndAStepsOpsFitItsWallTime() {
        Gpus.assumeGpu();
        int n = 4096;
        try (CudaBackend cuda = new CudaBackend(0, 1L << 30); OpProfile profile = OpProfile.of(cuda)) {
            Backend b = profile.backend();
            Tensor x = b.zeros(DType.BF16, n, n);
            Tensor y = b.allocate(DType.BF16, n, n);
            // Twice: the second step reuses the first one's events.
            for (int step = 0; step < 2; step++) {
                profile.reset();
                for (int i = 0; i < 5; i++) {
                    b.matmul(x, false, x, true, y, 1, 0);
                }
                b.scale(y, 0.5);
                ProfileReport report = profile.report();
                ProfileReport.Op gemm = report.op("matmul(transB)").orElseThrow();
                assertThat(gemm.calls()).isEqualTo(5);
                // 2·n³ FLOPs each at no more than 2 PFLOP/s (above any GPU's dense bf16 peak); queueing takes µs.
                assertThat(gemm.millis()).isGreaterThan(5 * 2.0 * n * n * n / 2e15 * 1e3);
                assertThat(report.op("scale").orElseThrow().calls()).isEqualTo(1);
                assertThat(report.opMillis()).isLessThanOrEqualTo(report.wallMillis());
            }
            x.close();
            y.close();
        }
    }
}
