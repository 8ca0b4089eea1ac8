package io.easycontext.runtime.plan;

import io.easycontext.runtime.optim.OptimizerMoments;
import io.easycontext.runtime.train.TrainConfig;

import java.util.Objects;
import java.util.Optional;

/**
 * The memory planner's verdict on a training run before any work: with {@code auto} (the spec's
 * {@code autoMemory}, the CLI's {@code --auto-memory}) the cheapest options that fit, with attention kept in as
 * many layers as the memory left allows, replace the given ones; without, the run fits as given or is refused. A
 * refusal carries the numbers and, where some exist, the options that would fit, for the caller to word: the CLI's
 * {@code train} speaks in flags, the service in spec fields. Both decide through this one record, so that a run the
 * service starts on GPUs holds its state exactly as the same run started from the command line would.
 *
 * @param given the run as its spec or flags describe it
 * @param auto whether the planner's choice replaces the given memory options
 * @param deviceBytes the pool each rank may fill
 * @param hostBytes the host memory the node's ranks together may hold for offloaded state and parked checkpoints
 * @param asGiven a rank's predicted peak under the given options
 * @param choice the cheapest options that fit, under {@link MemoryPlanner#choose}'s headroom and the host bound,
 *     keeping the most attention that still fits; empty where none does
 */
public record MemoryFit(TrainConfig given, boolean auto, long deviceBytes, long hostBytes, MemoryEstimate asGiven,
                        Optional<MemoryPlanner.Choice> choice) {

    public MemoryFit {
        Objects.requireNonNull(given);
        Objects.requireNonNull(asGiven);
        Objects.requireNonNull(choice);
    }

    /** The verdict on {@code config} for ranks of {@code deviceBytes} each and {@code hostBytes} of host memory. */
    public static MemoryFit of(TrainConfig config, boolean auto, long deviceBytes, long hostBytes) {
        return new MemoryFit(config, auto, deviceBytes, hostBytes, MemoryPlanner.estimate(config),
                MemoryPlanner.choose(config, deviceBytes, hostBytes));
    }

    /**
     * The verdict on this machine's GPUs, which {@code config}'s ranks run on: each rank's pool as the runtime will
     * size it, and {@code hostBytes} of host memory where positive (a smaller machine's, to rehearse its run here),
     * else what {@link NodeMemory#host()} finds, else unbounded.
     *
     * @throws IllegalArgumentException for CPU ranks, which have no pool to fit
     */
    public static MemoryFit onThisNode(TrainConfig config, boolean auto, long hostBytes) {
        if (!config.devices().cuda()) {
            throw new IllegalArgumentException("the memory planner fits GPU ranks; " + config.devices()
                    + " has none");
        }
        long host = hostBytes > 0 ? hostBytes : NodeMemory.host().orElse(Long.MAX_VALUE);
        return of(config, auto, NodeMemory.devicePerRank(config.devices()), host);
    }

    /**
     * Whether the run may start: under {@code auto}, some choice fits; otherwise the given options' peak fits the
     * pool, which is checked without the choice's headroom because the user chose those options knowingly.
     */
    public boolean fits() {
        return auto ? choice.isPresent() : asGiven.total() <= deviceBytes;
    }

    /** The options that replaced the given ones: present only under {@code auto} where some fit. */
    public Optional<MemoryPlanner.Choice> chosen() {
        return auto ? choice : Optional.empty();
    }

    /** The run to start: the given one, with the chosen options under {@code auto}. */
    public TrainConfig config() {
        if (!fits()) {
            throw new IllegalStateException("does not fit: " + asGiven.total() + " bytes per rank, " + deviceBytes
                    + " available");
        }
        return chosen().map(c -> given.withMemory(c.options().sharding(), c.options().offloadedCheckpoints(),
                c.options().keptAttentionLayers())).orElse(given);
    }

    /**
     * Where nothing fits, the memory no option moves: the model's bytes need more ranks to shard them over, the
     * tokens a shorter sequence or more ranks sharing it; and bf16 moments, which change the numbers, are the user's
     * to choose. Worded by {@code seqLength} and {@code optimizerMoments}, the CLI's flag or the spec's field.
     */
    public String noChoiceRemedy(String seqLength, String optimizerMoments) {
        return "no sharding or offload makes it fit: " + remedy(given.optimizerMoments(), seqLength, optimizerMoments);
    }

    /** What is left where no option fits: more ranks or fewer tokens, and bf16 moments where they are fp32. */
    public static String remedy(OptimizerMoments moments, String seqLength, String optimizerMoments) {
        return "more GPUs sharing each sequence, or a shorter " + seqLength + (moments == OptimizerMoments.FP32
                ? " (or, where bf16 AdamW moments are acceptable, " + optimizerMoments + " bf16)" : "");
    }
}
