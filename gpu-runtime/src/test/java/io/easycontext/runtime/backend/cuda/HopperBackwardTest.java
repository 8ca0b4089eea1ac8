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
        assertThat(HopperBackward.parse("v2")).isEqualTo(HopperBackward.V2);
        assertThat(HopperBackward.parse("V2")).isEqualTo(HopperBackward.V2);
        assertThat(HopperBackward.parse("v3")).isEqualTo(HopperBackward.V3);
        assertThat(HopperBackward.parse(" V3")).isEqualTo(HopperBackward.V3);
        assertThatThrownBy(() -> HopperBackward.parse("pingpong")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("plain, ws, v2 or v3");
    }

    @Test
    void onlyTheWarpSpecializedKernelServesHeadDim64() {
        assertThat(HopperBackward.PLAIN.supports(128)).isTrue();
        assertThat(HopperBackward.PLAIN.supports(64)).isFalse();
        assertThat(HopperBackward.WARP_SPECIALIZED.supports(128)).isTrue();
        assertThat(HopperBackward.WARP_SPECIALIZED.supports(64)).isTrue();
        assertThat(HopperBackward.WARP_SPECIALIZED.supports(32)).isFalse();
        assertThat(HopperBackward.V2.supports(128)).isTrue();
        assertThat(HopperBackward.V2.supports(64)).isFalse();
        assertThat(HopperBackward.V3.supports(128)).isTrue();
        assertThat(HopperBackward.V3.supports(64)).isFalse();
    }

    @Test
    void onlyV3AddsDqByTiles() {
        for (HopperBackward b : HopperBackward.values()) {
            assertThat(b.tileOrderedDq()).as(b.flag()).isEqualTo(b == HopperBackward.V3);
        }
    }

    @Test
    void launchShapesFitTheKernels() {
        assertThat(HopperBackward.PLAIN.threads()).isEqualTo(256);
        assertThat(HopperBackward.WARP_SPECIALIZED.threads()).isEqualTo(384);
        assertThat(HopperBackward.V2.threads()).isEqualTo(384);
        assertThat(HopperBackward.V3.threads()).isEqualTo(384);
        // The kernels' own layouts (attention_hopper.cu): the barriers end 198,728 bytes past the aligned base
        // for v2 at D 128, 197,704 for v3 (its dQ tile without v2's 16 bytes a row); every kernel must stay
        // within the 227 KB an H100/H200 block may have.
        assertThat(HopperBackward.V2.sharedMemory(128)).isGreaterThanOrEqualTo(1024 + 198_728);
        assertThat(HopperBackward.V3.sharedMemory(128)).isGreaterThanOrEqualTo(1024 + 197_704);
        assertThat(HopperBackward.V3.sharedMemory(128)).isEqualTo(HopperBackward.V2.sharedMemory(128) - 64 * 16);
        for (HopperBackward b : HopperBackward.values()) {
            for (int d : new int[]{64, 128}) {
                if (b.supports(d)) {
                    assertThat(b.sharedMemory(d)).as(b + " d" + d).isLessThanOrEqualTo(227 * 1024);
                }
            }
        }
    }

    @Test
    void kernelNamesFollowTheSchedule() {
        assertThat("attention_backward_hopper_" + HopperBackward.PLAIN.prefix() + "d128")
                .isEqualTo("attention_backward_hopper_d128");
        assertThat("attention_backward_hopper_" + HopperBackward.WARP_SPECIALIZED.prefix() + "d64")
                .isEqualTo("attention_backward_hopper_ws_d64");
        assertThat("attention_backward_hopper_" + HopperBackward.V2.prefix() + "d128")
                .isEqualTo("attention_backward_hopper_v2_d128");
        assertThat("attention_backward_hopper_" + HopperBackward.V3.prefix() + "d128")
                .isEqualTo("attention_backward_hopper_v3_d128");
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
                    if (b.tileOrderedDq()) {
                        assertThat(ptx).contains(".entry attention_backward_dq_tiles_d" + d + "(");
                    }
                }
            }
        }
    }
}
