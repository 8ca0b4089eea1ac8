package io.easycontext.runtime.backend.cuda;

/**
 * Which Hopper attention backward runs ({@code kernels/attention_hopper.cu}): {@code PLAIN} the two warpgroups
 * that load, multiply and add dQ by atomics themselves, in step with each other (head size 128 only);
 * {@code WARP_SPECIALIZED} a loading warp and a dQ warp beside two MMA warpgroups, dQ added a tile at a time by
 * bulk reductions from shared memory (head sizes 64 and 128). Both take the same arguments and write the same
 * results. The system property {@code easycontext.attention.hopper-backward} (plain, ws) sets the default, plain.
 */
public enum HopperBackward {
    PLAIN("", "plain"),
    WARP_SPECIALIZED("ws_", "ws");

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
        return headDim == 128 || (headDim == 64 && this == WARP_SPECIALIZED);
    }

    /** {@code plain} or {@code ws} (also the constant's name, in any case). */
    public static HopperBackward parse(String text) {
        return HopperSchedules.parse(values(), HopperBackward::flag, text, "Hopper backward schedule");
    }

    static HopperBackward fromSystemProperty() {
        return parse(System.getProperty(PROPERTY, "plain"));
    }
}
