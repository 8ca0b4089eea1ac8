package io.easycontext.runtime.plan;

import io.easycontext.runtime.optim.zero.OffloadMode;
import io.easycontext.runtime.optim.zero.Sharding;

import java.util.ArrayList;
import java.util.List;

/**
 * The options that trade speed for device memory: where the AdamW state lives ({@link Sharding}) and how many layers
 * park their activation checkpoint in host memory.
 */
public record MemoryOptions(Sharding sharding, int offloadedCheckpoints) {

    public static final MemoryOptions NONE = new MemoryOptions(Sharding.REPLICATED, 0);

    /** The train flags that select these options. */
    public String flags() {
        return "--zero-stage " + sharding.stage() + " --optimizer-offload " + sharding.offload().flag()
                + " --offload-checkpoints " + offloadedCheckpoints;
    }

    /**
     * Every combination worth trying, cheapest first: sharding the state costs nothing but a reduce-scatter in place
     * of an all-reduce (with one rank there is nothing to shard); parking checkpoints, copies that overlap compute;
     * streaming the state through the GPU, a pass over 12 bytes a parameter each step. The CPU update is slower than
     * the streamed one (benchmarks.md) and is never chosen. Within a kind, fewer parked layers come first.
     */
    static List<MemoryOptions> byCost(int worldSize, int layers) {
        List<MemoryOptions> all = new ArrayList<>();
        Sharding onDevice = worldSize > 1 ? new Sharding(1, OffloadMode.NONE) : Sharding.REPLICATED;
        Sharding streamed = new Sharding(1, OffloadMode.GPU_STREAM);
        for (Sharding s : List.of(onDevice, streamed)) {
            for (int parked = 0; parked <= layers; parked++) {
                all.add(new MemoryOptions(s, parked));
            }
        }
        return all;
    }
}
