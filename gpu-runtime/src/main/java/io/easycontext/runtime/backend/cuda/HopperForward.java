package io.easycontext.runtime.backend.cuda;

/**
 * Which Hopper attention forward runs ({@code kernels/attention_hopper.cu}). {@code WARP_SPECIALIZED} (flag
 * {@code ws}, the default): a third warpgroup only loads and hands its registers to the two that compute
 * (setmaxnreg), which then issue the next tile's Q·Kᵀ with this tile's P·V, work through the softmax while P·V runs
 * and take turns at the tensor cores; on an H200 at 64K tokens (causal, 32 heads, D 128) 603 TFLOP/s. {@code PLAIN}
 * (flag {@code plain}): two warpgroups that run softmax and MMAs one after the other, 483 TFLOP/s; the fallback,
 * and the baseline the other is checked and timed against. The system property
 * {@code easycontext.attention.hopper-forward} sets the default. (Ping-pong turns and the overlap without the
 * loader's registers, and a third stage of K and V, were slower: benchmarks.md.)
 */
public enum HopperForward {
    PLAIN("", "plain", 256),
    WARP_SPECIALIZED("ws_", "ws", 384);

    static final String PROPERTY = "easycontext.attention.hopper-forward";
    private final String prefix;
    private final String flag;
    private final int threads;

    HopperForward(String prefix, String flag, int threads) {
        this.prefix = prefix;
        this.flag = flag;
        this.threads = threads;
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
     * Dynamic shared memory of a block: up to 1023 bytes to align the tiles to 1024, 128 query rows and two stages
     * of 128 keys and of 128 values, in swizzled tiles, then the barriers (at most 9 × 8 bytes: the warp-specialized
     * kernel's Q one, and K's and V's full and empty ones for each stage).
     */
    int sharedMemory(int headDim) {
        return 1024 + (128 + 2 * 2 * 128) * headDim * 2 + 128;
    }

    public static HopperForward parse(String text) {
        return HopperSchedules.parse(values(), HopperForward::flag, text, "Hopper forward schedule");
    }

    /** The schedule the system property names, or the default. */
    public static HopperForward fromSystemProperty() {
        return parse(System.getProperty(PROPERTY, WARP_SPECIALIZED.flag));
    }
}
