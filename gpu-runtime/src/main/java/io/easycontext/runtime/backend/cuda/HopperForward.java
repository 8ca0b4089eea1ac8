package io.easycontext.runtime.backend.cuda;

import java.util.Locale;

/**
 * How the Hopper attention forward keeps the tensor cores busy through its softmax ({@code kernels/attention_hopper.cu}):
 * {@code PLAIN} neither way, {@code PINGPONG} the two warpgroups take turns at the MMAs, {@code OVERLAP} each
 * warpgroup issues the next tile's Q·Kᵀ with this tile's P·V, {@code BOTH}; {@code WARP_SPECIALIZED} (flag
 * {@code ws}) adds a third warpgroup that only loads, hands its registers to the two that compute (setmaxnreg) and
 * runs both overlap and ping-pong on separate K and V pipelines, two stages deep ({@code WARP_SPECIALIZED_3}, flag
 * {@code ws3}: three). The system property {@code easycontext.attention.hopper-forward} (plain, pingpong, overlap,
 * both, ws, ws3) sets the default, plain: on an H200 at 64K tokens (causal, H 32, D 128) plain ran 483 TFLOP/s,
 * pingpong 460, and overlap 384 at 16K against plain's 455, its 254 registers a warpgroup leaving the softmax too
 * few (see benchmarks.md).
 */
public enum HopperForward {
    PLAIN("", "plain", 256, 2),
    PINGPONG("pp_", "pingpong", 256, 2),
    OVERLAP("ov_", "overlap", 256, 2),
    BOTH("ovpp_", "both", 256, 2),
    WARP_SPECIALIZED("ws_", "ws", 384, 2),
    WARP_SPECIALIZED_3("ws3_", "ws3", 384, 3);

    static final String PROPERTY = "easycontext.attention.hopper-forward";
    private final String prefix;
    private final String flag;
    private final int threads;
    private final int stages;

    HopperForward(String prefix, String flag, int threads, int stages) {
        this.prefix = prefix;
        this.flag = flag;
        this.threads = threads;
        this.stages = stages;
    }

    /** The kernel name's infix. */
    String prefix() {
        return prefix;
    }

    /** The name a flag or the system property gives it. */
    public String flag() {
        return flag;
    }

    /** Threads a block. */
    int threads() {
        return threads;
    }

    /**
     * Dynamic shared memory of a block: up to 1023 bytes to align the tiles to 1024, 128 query rows and {@code stages}
     * stages of 128 keys and of 128 values, in swizzled tiles, then the barriers (at most 13 × 8 bytes:
     * {@code ws3} has Q's, and K's and V's full and empty ones for each of its stages).
     */
    int sharedMemory(int headDim) {
        return 1024 + (128 + 2 * stages * 128) * headDim * 2 + 128;
    }

    public static HopperForward parse(String text) {
        String s = text.trim().toLowerCase(Locale.ROOT);
        for (HopperForward f : values()) {
            if (f.flag.equals(s) || f.name().toLowerCase(Locale.ROOT).equals(s)) {
                return f;
            }
        }
        throw new IllegalArgumentException("Hopper forward schedule must be plain, pingpong, overlap, both, ws or ws3, "
                + "not '" + text + "'");
    }

    static HopperForward fromSystemProperty() {
        return parse(System.getProperty(PROPERTY, "plain"));
    }
}
