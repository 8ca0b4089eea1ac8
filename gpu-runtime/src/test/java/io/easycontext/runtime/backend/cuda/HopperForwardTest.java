package io.easycontext.runtime.backend.cuda;

import io.easycontext.runtime.cuda.KernelLibrary;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The Hopper forward schedules: their flag names, and launch shapes that agree with the kernels built. */
class HopperForwardTest {
    /** The most dynamic shared memory a Hopper block may opt into (227 KiB). */
    private static final int HOPPER_MAX_SHARED = 232448;

    @Test
    void parsesFlagsAndNames() {
        for (HopperForward f : HopperForward.values()) {
            assertThat(HopperForward.parse(f.flag())).isEqualTo(f);
            assertThat(HopperForward.parse(" " + f.name() + " ")).isEqualTo(f);
        }
        assertThat(HopperForward.parse("ws")).isEqualTo(HopperForward.WARP_SPECIALIZED);
        assertThat(HopperForward.parse("warp_specialized")).isEqualTo(HopperForward.WARP_SPECIALIZED);
        assertThatThrownBy(() -> HopperForward.parse("fast")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("ws");
    }

    @Test
    void sharedMemoryFitsAHopperBlock() {
        for (HopperForward f : HopperForward.values()) {
            for (int d : new int[]{64, 128}) {
                assertThat(f.sharedMemory(d)).as(f + " d" + d).isLessThanOrEqualTo(HOPPER_MAX_SHARED);
            }
        }
    }

    /** A launch with more threads than a kernel's launch bounds fails; the PTX says what it was built for. */
    @Test
    void eachForwardKernelIsBuiltForTheThreadsItIsLaunchedWith() throws IOException {
        if (!KernelLibrary.built()) {
            return;
        }
        String ptx;
        try (InputStream in = getClass().getClassLoader().getResourceAsStream("kernels/attention_hopper.sm_90a.ptx")) {
            assertThat(in).as("attention_hopper.sm_90a.ptx").isNotNull();
            ptx = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        }
        for (HopperForward f : HopperForward.values()) {
            for (int d : new int[]{64, 128}) {
                String name = "attention_forward_hopper_" + f.prefix() + "d" + d;
                Matcher m = Pattern.compile("\\.entry " + name + "\\([^)]*\\)\\s*\\.maxntid (\\d+), 1, 1").matcher(ptx);
                assertThat(m.find()).as(name).isTrue();
                assertThat(Integer.parseInt(m.group(1))).as(name + " threads").isEqualTo(f.threads());
            }
        }
    }
}
