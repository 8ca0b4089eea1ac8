package io.easycontext.runtime.backend.cuda;

/**
 * Which Hopper attention backward runs ({@code kernels/attention_hopper.cu}): {@code TILED}, the default, is
 * warp-specialized after FlashAttention-3's sm90 backward (a loading warp, a dQ warp and two MMA warpgroups; each
 * MMA warpgroup hands its own half of the dQ tile to the dQ warp through its own barriers, issues dQ's product
 * before dK's, stores dSᵀ by stmatrix; separate Q and dO pipelines) and adds dQ as FlashAttention-3 does, one
 * 16 KB bulk reduction per warpgroup a step into an fp32 accumulator in the tiles' own order, which a second
 * kernel turns into dq (head sizes 64 and 128; at 64 each warpgroup adds a partial dQ over its own keys).
 * {@code PLAIN}, the fallback where a driver compiles the tiled kernel to too few registers for its
 * {@code setmaxnreg} split, is two warpgroups that load, multiply and add dQ by atomics themselves, in step with
 * each other (head size 128 only). Both take the same arguments and write the same results, with the fp32 dQ
 * accumulator the caller zeroes laid out as {@link #tileOrderedDq} says. The system property
 * {@code easycontext.attention.hopper-backward} (tiled, plain) sets the default, tiled; where plain has no kernel
 * for the head size, tiled runs.
 */
public enum HopperBackward {
    PLAIN("", "plain"),
    TILED("tiled_", "tiled");

    static final String PROPERTY = "easycontext.attention.hopper-backward";
    private final String prefix;
    private final String flag;

    HopperBackward(String prefix, String flag) {
        this.prefix = prefix;
        this.flag = flag;
    }

    /** The kernel name's infix. */
    String prefix() {
        return prefix;
    }

    /** The name {@link #parse} takes and the bench prints. */
    public String flag() {
        return flag;
    }

    /** Whether this schedule has a kernel for the head size. */
    boolean supports(int headDim) {
        return headDim == 128 || (headDim == 64 && this == TILED);
    }

    /**
     * Whether the kernel adds dQ into a tile-ordered accumulator, [batch][query heads][⌈tq / 64⌉][64 × headDim
     * fp32 in MMA-fragment order] (kernels/attention_hopper.cu), which {@code attention_backward_dq_tiles_d*}
     * converts, rather than into the row-ordered [batch, tq, query heads, headDim] one of
     * {@code attention_backward_dq}.
     */
    boolean tileOrderedDq() {
        return this == TILED;
    }

    /** Threads a block: two MMA warpgroups, and a loading warpgroup for the warp-specialized kernel. */
    int threads() {
        return this == PLAIN ? 256 : 384;
    }

    /** Dynamic shared memory of the kernel for head size {@code d}, with 1024 bytes to align the tiles. */
    int sharedMemory(int d) {
        return switch (this) {
            // K and V (128 keys), two stages of Q and dO (64 queries), dSᵀ, two stages of lse and delta, 3 barriers.
            case PLAIN -> 1024 + (2 * 128 * d + 4 * 64 * d + 128 * 64) * 2 + 4 * 64 * 4 + 64;
            // As plain, but two buffers of dSᵀ and the dQ tile, each warpgroup's 64 × 64 fp32 half (head size 64:
            // partial) one contiguous 16 KB block; 9 barriers (full and empty for Q and for dO apart).
            case TILED -> 1024 + (2 * 128 * d + 4 * 64 * d + 2 * 128 * 64) * 2 + 2 * 64 * 64 * 4 + 4 * 64 * 4 + 128;
        };
    }

    /** This schedule where it has a kernel for {@code headDim}, else tiled where that has; null where neither has. */
    HopperBackward forHeadSize(int headDim) {
        return supports(headDim) ? this : TILED.supports(headDim) ? TILED : null;
    }

    /** {@code plain} or {@code tiled} (also the constant's name, in any case). */
    public static HopperBackward parse(String text) {
        return HopperSchedules.parse(values(), HopperBackward::flag, text, "Hopper backward schedule");
    }

    /** The schedule the system property names, or the default. */
    public static HopperBackward fromSystemProperty() {
        return parse(System.getProperty(PROPERTY, TILED.flag));
    }
}
