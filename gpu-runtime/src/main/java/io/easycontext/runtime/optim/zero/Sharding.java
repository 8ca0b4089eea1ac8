package io.easycontext.runtime.optim.zero;

/**
 * How a run holds its AdamW state, gradients and parameters: replicated on every rank ({@code stage} 0), or sharded
 * over all ranks as ZeRO does it: stage 1 the AdamW state (master weights and moments); stage 2 the gradients too,
 * reduce-scattered unit by unit as the backward finishes each one, so no rank holds the whole model's gradients;
 * stage 3 the bf16 parameters too, each unit all-gathered just before its forward, recompute and backward. The
 * state of stages 1 to 3 may live on the device or be offloaded to host memory.
 */
public record Sharding(int stage, OffloadMode offload) {

    public static final Sharding REPLICATED = new Sharding(0, OffloadMode.NONE);

    /** The highest stage there is. */
    public static final int MAX_STAGE = 3;

    public Sharding {
        if (stage < 0 || stage > MAX_STAGE) {
            throw new IllegalArgumentException("ZeRO stage " + stage + " is not supported; 0 (replicated), 1 "
                    + "(optimizer state sharded), 2 (and gradients) or 3 (and parameters)");
        }
        if (offload == null) {
            throw new IllegalArgumentException("the optimizer offload must be given (none for none)");
        }
        if (stage == 0 && offload != OffloadMode.NONE) {
            throw new IllegalArgumentException("optimizer offload " + offload.flag() + " needs ZeRO stage 1, 2 or 3: "
                    + "only a sharded optimizer offloads its state");
        }
    }

    public boolean sharded() {
        return stage > 0;
    }

    /** Whether the backward reduces gradients unit by unit into shards (stages 2 and 3). */
    public boolean shardsGradients() {
        return stage >= 2;
    }

    /** Whether the parameters are sharded and gathered unit by unit (stage 3). */
    public boolean shardsParameters() {
        return stage == 3;
    }

    /**
     * Refuses a sharding that cannot help a world of {@code ranks}: stages 2 and 3 cut gradients (and parameters)
     * into one shard per rank, so over one rank they only add per-unit buffers to the whole model's.
     */
    public void checkWorld(int ranks) {
        if (stage >= 2 && ranks < 2) {
            throw new IllegalArgumentException("ZeRO stage " + stage + " shards gradients" + (stage == 3
                    ? " and parameters" : "") + " over the ranks, and one rank has nothing to shard them with: use "
                    + "zero stage 1 (with an optimizer offload to move the state off the device) or more ranks");
        }
    }

    @Override
    public String toString() {
        return "zero_stage " + stage + ", optimizer_offload " + offload.flag();
    }
}
