package io.easycontext.runtime.optim.zero;

/**
 * How a run holds its AdamW state: replicated on every rank ({@code stage} 0), or ZeRO stage 1, sharded over all
 * ranks, kept on the device or offloaded to host memory.
 */
public record Sharding(int stage, OffloadMode offload) {

    public static final Sharding REPLICATED = new Sharding(0, OffloadMode.NONE);

    public Sharding {
        if (stage != 0 && stage != 1) {
            throw new IllegalArgumentException("ZeRO stage " + stage + " is not supported; 0 (replicated) or 1 "
                    + "(optimizer state sharded)");
        }
        if (stage == 0 && offload != OffloadMode.NONE) {
            throw new IllegalArgumentException("optimizer offload " + offload.flag() + " needs ZeRO stage 1: only a "
                    + "sharded optimizer offloads its state");
        }
    }

    public boolean sharded() {
        return stage > 0;
    }

    @Override
    public String toString() {
        return "zero_stage " + stage + ", optimizer_offload " + offload.flag();
    }
}
