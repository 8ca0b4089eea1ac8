package io.easycontext.runtime.backend.cuda;

/**
 * Which Hopper attention backward runs ({@code kernels/attention_hopper.cu}): {@code PLAIN} the two warpgroups
 * that load, multiply and add dQ by atomics themselves, in step with each other (head size 128 only);
 * {@code WARP_SPECIALIZED} a loading warp and a dQ warp beside two MMA warpgroups, dQ added a tile at a time by
 * bulk reductions from shared memory (head sizes 64 and 128); {@code TILED} the warp-specialized one rearranged
 * after FlashAttention-3's sm90 backward (each MMA warpgroup with its own half of the dQ tile and its own barriers
 * to the dQ warp, dQ's product issued before dK's, dSᵀ by stmatrix, separate Q and dO pipelines) and adding dQ as
 * FlashAttention-3 does, one 16 KB bulk reduction per warpgroup a step into an fp32 accumulator in the tiles' own
 * order, which a second kernel turns into dq (head sizes 64 and 128; at 64 each warpgroup adds a partial dQ over
 * its own keys). All take the same arguments and write the same results, with the fp32 dQ accumulator the caller
 * zeroes laid out as {@link #tileOrderedDq} says. The system property
 * {@code easycontext.attention.hopper-backward} (plain, ws, tiled) sets the default, tiled; a head size the chosen
 * one has no kernel for runs {@link #forHeadSize the first of tiled, ws that has}.
 */
public enum HopperBackward {
    PLAIN("", "plain"),
    WARP_SPECIALIZED("ws_", "ws"),
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
        return headDim == 128 || (headDim == 64 && this != PLAIN);
    }

    /**
     * Whether the kernel adds dQ into a tile-ordered accumulator, [batch][query heads][⌈tq / 64⌉][2][64 × 64 fp32
     * in MMA-fragment order] (kernels/attention_hopper.cu), which {@code attention_backward_dq_tiles_d128}
     * converts, rather than into the row-ordered [batch, tq, query heads, headDim] one of
     * {@code attention_backward_dq}.
     */
    boolean tileOrderedDq() {
        return this == TILED;
    }

    /** Threads a block: two MMA warpgroups, and a loading warpgroup for the warp-specialized kernels. */
    int threads() {
        return this == PLAIN ? 256 : 384;
    }

    /** Dynamic shared memory of the kernel for head size {@code d}, with 1024 bytes to align the tiles. */
    int sharedMemory(int d) {
        return switch (this) {
            // K and V (128 keys), two stages of Q and dO (64 queries), dSᵀ, two stages of lse and delta, 3 barriers.
            case PLAIN -> 1024 + (2 * 128 * d + 4 * 64 * d + 128 * 64) * 2 + 4 * 64 * 4 + 64;
            // As plain, but two buffers of dSᵀ and the fp32 dQ tile (rows padded by 16 bytes); 5 barriers.
            case WARP_SPECIALIZED -> 1024 + (2 * 128 * d + 4 * 64 * d + 2 * 128 * 64) * 2 + 64 * (4 * d + 16)
                    + 4 * 64 * 4 + 64;
            // As ws, but the dQ tile unpadded, each warpgroup's 64 × 64 fp32 half (head size 64: partial) one
            // contiguous 16 KB block; 9 barriers (full and empty for Q and for dO apart).
            case TILED -> 1024 + (2 * 128 * d + 4 * 64 * d + 2 * 128 * 64) * 2 + 2 * 64 * 64 * 4 + 4 * 64 * 4 + 128;
        };
    }

    /**
     * This schedule where it has a kernel for {@code headDim}, else the fastest that has ({@code tiled}, then
     * {@code ws}); null where none has.
     */
    HopperBackward forHeadSize(int headDim) {
        if (supports(headDim)) {
            return this;
        }
        for (HopperBackward b : new HopperBackward[]{TILED, WARP_SPECIALIZED}) {
            if (b.supports(headDim)) {
                return b;
            }
        }
        return null;
    }

    /** {@code plain}, {@code ws} or {@code tiled} (also the constant's name, in any case). */
    public static HopperBackward parse(String text) {
        return HopperSchedules.parse(values(), HopperBackward::flag, text, "Hopper backward schedule");
    }

    /** The schedule the system property names, or the default. */
    public static HopperBackward fromSystemProperty() {
        return parse(System.getProperty(PROPERTY, TILED.flag));
    }
}
