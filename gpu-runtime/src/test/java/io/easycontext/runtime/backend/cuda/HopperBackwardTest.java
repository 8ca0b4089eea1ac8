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
        assertThat(HopperBackward.parse("tiled")).isEqualTo(HopperBackward.TILED);
        assertThat(HopperBackward.parse(" TILED")).isEqualTo(HopperBackward.TILED);
        assertThatThrownBy(() -> HopperBackward.parse("ws")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("plain or tiled");
    }

    @Test
    void onlyTheTiledKernelServesHeadDim64AndStandsInForPlainThere() {
        assertThat(HopperBackward.PLAIN.supports(128)).isTrue();
        assertThat(HopperBackward.PLAIN.supports(64)).isFalse();
        assertThat(HopperBackward.TILED.supports(32)).isFalse();
        assertThat(HopperBackward.TILED.supports(128)).isTrue();
        assertThat(HopperBackward.TILED.supports(64)).isTrue();
        for (HopperBackward b : HopperBackward.values()) {
            assertThat(b.forHeadSize(128)).as(b.flag()).isEqualTo(b);
            assertThat(b.forHeadSize(64)).as(b.flag()).isEqualTo(HopperBackward.TILED);
            assertThat(b.forHeadSize(96)).as(b.flag()).isNull();
        }
    }

    @Test
    void tiledIsTheDefault() {
        assertThat(System.getProperty(HopperBackward.PROPERTY)).isNull();
        assertThat(HopperBackward.fromSystemProperty()).isEqualTo(HopperBackward.TILED);
    }

    @Test
    void onlyTheTiledKernelAddsDqByTiles() {
        for (HopperBackward b : HopperBackward.values()) {
            assertThat(b.tileOrderedDq()).as(b.flag()).isEqualTo(b == HopperBackward.TILED);
        }
    }

    @Test
    void launchShapesFitTheKernels() {
        assertThat(HopperBackward.PLAIN.threads()).isEqualTo(256);
        assertThat(HopperBackward.TILED.threads()).isEqualTo(384);
        // The kernel's own layout (attention_hopper.cu): the barriers end 197,704 bytes past the aligned base for
        // tiled at D 128 (K, V 64 KB; Q, dO two stages 64 KB; dSᵀ 32 KB; dQ 32 KB; lse, delta 1 KB; 9 barriers)
        // and 132,168 at D 64 (32 + 32 + 32 + 32 KB + the same); every kernel must stay within the 227 KB an
        // H100/H200 block may have.
        assertThat(HopperBackward.TILED.sharedMemory(128)).isGreaterThanOrEqualTo(1024 + 197_704);
        assertThat(HopperBackward.TILED.sharedMemory(64)).isGreaterThanOrEqualTo(1024 + 132_168);
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
        assertThat("attention_backward_hopper_" + HopperBackward.TILED.prefix() + "d64")
                .isEqualTo("attention_backward_hopper_tiled_d64");
        assertThat("attention_backward_hopper_" + HopperBackward.TILED.prefix() + "d128")
                .isEqualTo("attention_backward_hopper_tiled_d128");
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
