package io.easycontext.runtime.backend.cuda;

import io.easycontext.runtime.cuda.CudaDevice;
import io.easycontext.runtime.cuda.GpuTest;
import io.easycontext.runtime.cuda.Gpus;
import io.easycontext.runtime.cuda.Kernel;
import io.easycontext.runtime.cuda.KernelLibrary;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The warp-specialized forwards move registers between warpgroups with setmaxnreg inside the pool their launch
 * reserved (threads × the kernel's registers): a consumer's increase waits until the pool has the registers, so a
 * driver compile that gave the kernel fewer than the split needs would hang every launch. Checked on the loaded
 * kernel before any launch, so that such a compile fails here rather than hanging a test.
 */
@GpuTest
class HopperForwardGpuTest {
    @Test
    void warpSpecializedKernelsReserveTheRegistersTheirSplitNeeds() {
        CudaDevice device = Gpus.assumeGpu();
        assumeTrue(KernelLibrary.builtFor(device, "attention_hopper"), "no sm_90a attention kernels for this device");
        for (HopperForward f : HopperForward.values()) {
            if (f.threads() != CudaBackend.WARP_SPECIALIZED_THREADS) {
                continue;
            }
            for (int d : new int[]{64, 128}) {
                Kernel k = KernelLibrary.kernel(device, "attention_hopper", "attention_forward_hopper_" + f.prefix()
                        + "d" + d);
                assertThat(k.registers() * f.threads()).as(k.name() + ": " + k.registers() + " registers")
                        .isGreaterThanOrEqualTo(CudaBackend.WARP_SPECIALIZED_SPLIT);
            }
        }
    }
}
