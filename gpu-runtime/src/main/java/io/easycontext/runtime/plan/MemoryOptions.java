package io.easycontext.runtime.plan;

import io.easycontext.runtime.optim.zero.OffloadMode;
import io.easycontext.runtime.optim.zero.Sharding;

import java.util.ArrayList;
import java.util.List;

/**
 * The options that trade speed for device memory: what is sharded over the ranks and where the AdamW state lives
 * ({@link Sharding}), how many layers park their activation checkpoint in host memory, and how many keep their
 * attention output on the device so that their recomputation skips the attention (memory for speed).
 */
public record MemoryOptions(Sharding sharding, int offloadedCheckpoints, int keptAttentionLayers) {

    public static final MemoryOptions NONE = new MemoryOptions(Sharding.REPLICATED, 0);

    /** No attention kept. */
    public MemoryOptions(Sharding sharding, int offloadedCheckpoints) {
        this(sharding, offloadedCheckpoints, 0);
    }

    public MemoryOptions withKeptAttentionLayers(int layers) {
        return new MemoryOptions(sharding, offloadedCheckpoints, layers);
    }

    /** The train flags that select these options. */
    public String flags() {
        return "--zero-stage " + sharding.stage() + " --optimizer-offload " + sharding.offload().flag()
                + " --offload-checkpoints " + offloadedCheckpoints + " --kept-attention-layers " + keptAttentionLayers;
    }

    /** The spec fields that select these options, as a job's JSON names them. */
    public String fields() {
        return "zeroStage " + sharding.stage() + ", optimizerOffload " + sharding.offload().flag()
                + ", offloadCheckpoints " + offloadedCheckpoints + ", keptAttentionLayers " + keptAttentionLayers;
    }

    /**
     * Every combination worth trying, cheapest first. Sharding the state costs nothing but a reduce-scatter in place
     * of an all-reduce (with one rank there is nothing to shard): stage 1 first, the one measured on GPUs; then stage
     * 2, which moves the same bytes, layer by layer, and frees the gradients of all but one layer. Parking checkpoints
     * costs copies that overlap compute, so stage 2 tries them before stage 3, which gathers each layer's parameters
     * twice a micro-batch (forward, then recompute and backward), the next layer's while the current one computes.
     * Streaming the state through the GPU costs a pass over 12 bytes a parameter each step, so it comes last, with
     * parameters and gradients sharded too (stage 3) where there are ranks to shard them over. The CPU update is
     * slower than the streamed one (benchmarks.md) and is never chosen. Within a kind, fewer parked layers come first.
     * None keeps attention: that is chosen once these are ({@link MemoryPlanner#choose}).
     */
    static List<MemoryOptions> byCost(int worldSize, int layers) {
        List<MemoryOptions> all = new ArrayList<>();
        if (worldSize > 1) {
            all.add(new MemoryOptions(new Sharding(1, OffloadMode.NONE), 0));
            addParked(all, new Sharding(2, OffloadMode.NONE), layers);
            addParked(all, new Sharding(3, OffloadMode.NONE), layers);
            addParked(all, new Sharding(3, OffloadMode.GPU_STREAM), layers);
        } else {
            addParked(all, Sharding.REPLICATED, layers);
            addParked(all, new Sharding(1, OffloadMode.GPU_STREAM), layers);
        }
        return all;
    }

    private static void addParked(List<MemoryOptions> all, Sharding sharding, int layers) {
        for (int parked = 0; parked <= layers; parked++) {
            all.add(new MemoryOptions(sharding, parked));
        }
    }
}
