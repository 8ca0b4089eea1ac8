package io.easycontext.runtime.backend.cuda;

import io.easycontext.runtime.cuda.KernelLibrary;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The backward schedule's names and which head sizes each has a kernel for (no GPU needed). */
class HopperBackwardTest {

    @Test
    void parsesTheShortAndTheLongNames() {
        assertThat(HopperBackward.parse("plain")).isEqualTo(HopperBackward.PLAIN);
        assertThat(HopperBackward.parse(" WS ")).isEqualTo(HopperBackward.WARP_SPECIALIZED);
        assertThat(HopperBackward.parse("warp_specialized")).isEqualTo(HopperBackward.WARP_SPECIALIZED);
        assertThatThrownBy(() -> HopperBackward.parse("pingpong")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("plain or ws");
    }

    @Test
    void onlyTheWarpSpecializedKernelServesHeadDim64() {
        assertThat(HopperBackward.PLAIN.supports(128)).isTrue();
        assertThat(HopperBackward.PLAIN.supports(64)).isFalse();
        assertThat(HopperBackward.WARP_SPECIALIZED.supports(128)).isTrue();
        assertThat(HopperBackward.WARP_SPECIALIZED.supports(64)).isTrue();
        assertThat(HopperBackward.WARP_SPECIALIZED.supports(32)).isFalse();
    }

    @Test
    void kernelNamesFollowTheSchedule() {
        assertThat("attention_backward_hopper_" + HopperBackward.PLAIN.prefix() + "d128")
                .isEqualTo("attention_backward_hopper_d128");
        assertThat("attention_backward_hopper_" + HopperBackward.WARP_SPECIALIZED.prefix() + "d64")
                .isEqualTo("attention_backward_hopper_ws_d64");
    }

    @Test
    void theBuiltHopperModuleHasEveryBackwardKernelTheBackendLaunches() throws IOException {
        if (!KernelLibrary.built()) {
            return;  // built without nvcc: nothing to look into
        }
        String ptx;
        try (InputStream in = getClass().getClassLoader().getResourceAsStream("kernels/attention_hopper.sm_90a.ptx")) {
            assertThat(in).isNotNull();
            ptx = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        for (HopperBackward b : HopperBackward.values()) {
            for (int d : new int[]{64, 128}) {
                if (b.supports(d)) {
                    assertThat(ptx).contains(".entry attention_backward_hopper_" + b.prefix() + "d" + d + "(");
                }
            }
        }
    }
}
