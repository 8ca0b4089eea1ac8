package io.easycontext.runtime.backend.cuda;

import java.util.Locale;

/**
 * How the Hopper attention forward keeps the tensor cores busy through its softmax ({@code kernels/attention_hopper.cu}):
 * {@code PLAIN} neither way, {@code PINGPONG} the two warpgroups take turns at the MMAs, {@code OVERLAP} each
 * warpgroup issues the next tile's Q·Kᵀ with this tile's P·V, {@code BOTH}. The system property
 * {@code easycontext.attention.hopper-forward} (plain, pingpong, overlap, both) sets the default, plain: on an H200
 * at 64K tokens (causal, H 32, D 128) plain ran 483 TFLOP/s, pingpong 460, and overlap 384 at 16K against plain's
 * 455, its 254 registers a warpgroup leaving the softmax too few (see benchmarks.md).
 */
public enum HopperForward {
    PLAIN(""),
    PINGPONG("pp_"),
    OVERLAP("ov_"),
    BOTH("ovpp_");

    static final String PROPERTY = "easycontext.attention.hopper-forward";
    private final String prefix;

    HopperForward(String prefix) {
        this.prefix = prefix;
    }

    /** The kernel name's infix. */
    String prefix() {
        return prefix;
    }

    public static HopperForward parse(String text) {
        try {
            return valueOf(text.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("Hopper forward schedule must be plain, pingpong, overlap or both, not '"
                    + text + "'");
        }
    }

    static HopperForward fromSystemProperty() {
        return parse(System.getProperty(PROPERTY, "plain"));
    }
}
