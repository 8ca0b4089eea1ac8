package io.easycontext.runtime.plan;

import io.easycontext.runtime.optim.OptimizerMoments;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Peak device memory of one rank, by component, in bytes. The peak is reached in the backward of the last
 * decoder layer: every checkpoint is still held, and the layer's recomputed activations meet the MLP's
 * gradients. Master weights and moments are the rank's share on the device: all of them when replicated, its shard
 * when sharded, and only the staging of an offloaded update when offloaded; {@code hostMemory} is what an offloaded
 * optimizer holds in (pinned) host memory per rank, and is not part of {@link #total()}. Parameters and gradients
 * are the whole model's, or under ZeRO-2 (gradients) and ZeRO-3 (both) the rank's shard plus the whole-unit buffers
 * that the backward reduces from and the gathers fill. {@code momentsType} is the type the moments are counted in.
 * {@code keptAttention} is the attention outputs and log-sum-exps that the last layers keep through activation
 * checkpointing, the last layer's included (its working set then leaves them out).
 */
public record MemoryEstimate(long parameters, long gradients, long masterWeights, long optimizerMoments,
                             long checkpoints, long keptAttention, long layerWorkingSet, long attentionScratch,
                             long communication, long other, long hostMemory, OptimizerMoments momentsType) {

    /** With fp32 moments and no attention kept. */
    public MemoryEstimate(long parameters, long gradients, long masterWeights, long optimizerMoments,
                          long checkpoints, long layerWorkingSet, long attentionScratch, long communication,
                          long other, long hostMemory) {
        this(parameters, gradients, masterWeights, optimizerMoments, checkpoints, 0, layerWorkingSet,
                attentionScratch, communication, other, hostMemory, OptimizerMoments.FP32);
    }

    public long total() {
        return parameters + gradients + masterWeights + optimizerMoments + checkpoints + keptAttention
                + layerWorkingSet + attentionScratch + communication + other;
    }

    /** The device components in the order a report lists them. */
    public Map<String, Long> components() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("parameters (bf16)", parameters);
        m.put("gradients (bf16)", gradients);
        m.put("master weights (fp32)", masterWeights);
        m.put("AdamW moments (" + momentsType.flag() + ")", optimizerMoments);
        m.put("activation checkpoints", checkpoints);
        m.put("kept attention outputs", keptAttention);
        m.put("layer recompute + backward", layerWorkingSet);
        m.put("attention scratch", attentionScratch);
        m.put("sequence-parallel buffers", communication);
        m.put("loss chunk, residual gradient, workspace", other);
        return m;
    }
}
