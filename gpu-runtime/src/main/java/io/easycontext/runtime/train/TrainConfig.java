package io.easycontext.runtime.train;

import io.easycontext.runtime.comm.RankDevices;
import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.optim.OptimizerMoments;
import io.easycontext.runtime.optim.zero.Sharding;
import io.easycontext.runtime.parallel.ParallelConfig;
import io.easycontext.runtime.tensor.DType;

/**
 * Everything a distributed training run is defined by. {@code batchSize} is per data-parallel group (a
 * sequence-parallel group acts as one device, as in EasyContext where {@code --batch-size} is per process and the
 * sequence is split within it), so a step's global batch is {@code dp × batchSize × gradientAccumulation} sequences.
 * {@code sharding} says whether every rank keeps the whole AdamW state or its shard of it (ZeRO stage 1), and also
 * only its shard of the gradients (stage 2) and of the parameters (stage 3), and where the state lives;
 * {@code offloadedCheckpoints}, how many layers park their activation checkpoint in host memory;
 * {@code optimizerMoments}, the type AdamW keeps its moments in (fp32, or bf16 to halve their memory);
 * {@code keptAttentionLayers}, how many layers (the last ones) keep their attention output through activation
 * checkpointing, so that their recomputation runs no attention.
 */
public record TrainConfig(
        LlamaConfig model,
        ParallelConfig parallel,
        int seqLength,
        int batchSize,
        int gradientAccumulation,
        int maxTrainSteps,
        double learningRate,
        int warmupSteps,
        double weightDecay,
        double maxGradNorm,
        long seed,
        RankDevices devices,
        boolean activationCheckpointing,
        Sharding sharding,
        int offloadedCheckpoints,
        OptimizerMoments optimizerMoments,
        int keptAttentionLayers) {

    /** Checks every field and the parallel layout against the model, before any rank starts. */
    public TrainConfig {
        positive("seq_length", seqLength);
        positive("batch_size", batchSize);
        positive("gradient_accumulate_every", gradientAccumulation);
        positive("max_train_steps", maxTrainSteps);
        if (!(learningRate >= 0) || !(weightDecay >= 0) || !(maxGradNorm >= 0) || warmupSteps < 0) {
            throw new IllegalArgumentException("learning_rate (" + learningRate + "), weight_decay (" + weightDecay
                    + "), max_grad_norm (" + maxGradNorm + ") and warmup_steps (" + warmupSteps
                    + ") must not be negative");
        }
        if (devices.cpuType() != DType.F32 && devices.cpuType() != DType.F64) {
            throw new IllegalArgumentException("CPU training runs in F32 or F64, not " + devices.cpuType());
        }
        if (devices.ranks() != parallel.worldSize()) {
            throw new IllegalArgumentException("the parallel layout " + parallel + " needs " + parallel.worldSize()
                    + " ranks, and devices " + devices + " has " + devices.ranks());
        }
        if (sharding == null) {
            throw new IllegalArgumentException("the optimizer sharding must be given (Sharding.REPLICATED for none)");
        }
        sharding.checkWorld(devices.ranks());
        if (offloadedCheckpoints < 0 || (offloadedCheckpoints > 0 && !activationCheckpointing)) {
            throw new IllegalArgumentException("offload_checkpoints (" + offloadedCheckpoints
                    + ") must be 0, or positive with activation checkpointing");
        }
        if (keptAttentionLayers < 0 || (keptAttentionLayers > 0 && !activationCheckpointing)) {
            throw new IllegalArgumentException("kept_attention_layers (" + keptAttentionLayers
                    + ") must be 0, or positive with activation checkpointing");
        }
        if (optimizerMoments == null) {
            throw new IllegalArgumentException("the optimizer moments' type must be given (OptimizerMoments.FP32)");
        }
        parallel.validate(seqLength, model.numAttentionHeads(), model.numKeyValueHeads());
    }

    /** A run that keeps no attention output through checkpointing. */
    public TrainConfig(LlamaConfig model, ParallelConfig parallel, int seqLength, int batchSize,
                       int gradientAccumulation, int maxTrainSteps, double learningRate, int warmupSteps,
                       double weightDecay, double maxGradNorm, long seed, RankDevices devices,
                       boolean activationCheckpointing, Sharding sharding, int offloadedCheckpoints,
                       OptimizerMoments optimizerMoments) {
        this(model, parallel, seqLength, batchSize, gradientAccumulation, maxTrainSteps, learningRate, warmupSteps,
                weightDecay, maxGradNorm, seed, devices, activationCheckpointing, sharding, offloadedCheckpoints,
                optimizerMoments, 0);
    }

    /** A run that keeps the AdamW moments in fp32. */
    public TrainConfig(LlamaConfig model, ParallelConfig parallel, int seqLength, int batchSize,
                       int gradientAccumulation, int maxTrainSteps, double learningRate, int warmupSteps,
                       double weightDecay, double maxGradNorm, long seed, RankDevices devices,
                       boolean activationCheckpointing, Sharding sharding, int offloadedCheckpoints) {
        this(model, parallel, seqLength, batchSize, gradientAccumulation, maxTrainSteps, learningRate, warmupSteps,
                weightDecay, maxGradNorm, seed, devices, activationCheckpointing, sharding, offloadedCheckpoints,
                OptimizerMoments.FP32);
    }

    /** A run whose every rank keeps the whole optimizer state. */
    public TrainConfig(LlamaConfig model, ParallelConfig parallel, int seqLength, int batchSize,
                       int gradientAccumulation, int maxTrainSteps, double learningRate, int warmupSteps,
                       double weightDecay, double maxGradNorm, long seed, RankDevices devices,
                       boolean activationCheckpointing) {
        this(model, parallel, seqLength, batchSize, gradientAccumulation, maxTrainSteps, learningRate, warmupSteps,
                weightDecay, maxGradNorm, seed, devices, activationCheckpointing, Sharding.REPLICATED, 0);
    }

    /** A run that keeps every activation checkpoint on the device. */
    public TrainConfig(LlamaConfig model, ParallelConfig parallel, int seqLength, int batchSize,
                       int gradientAccumulation, int maxTrainSteps, double learningRate, int warmupSteps,
                       double weightDecay, double maxGradNorm, long seed, RankDevices devices,
                       boolean activationCheckpointing, Sharding sharding) {
        this(model, parallel, seqLength, batchSize, gradientAccumulation, maxTrainSteps, learningRate, warmupSteps,
                weightDecay, maxGradNorm, seed, devices, activationCheckpointing, sharding, 0);
    }

    /** This run with the AdamW state and the checkpoints elsewhere, and as many layers' attention kept. */
    public TrainConfig withMemory(Sharding sharding, int offloadedCheckpoints) {
        return withMemory(sharding, offloadedCheckpoints, keptAttentionLayers);
    }

    /**
     * This run with other memory options: where the AdamW state lives, how many checkpoints are parked, how many
     * layers keep their attention. The moments' type is kept: it changes the numbers, which no memory option may do
     * behind the user's back.
     */
    public TrainConfig withMemory(Sharding sharding, int offloadedCheckpoints, int keptAttentionLayers) {
        return new TrainConfig(model, parallel, seqLength, batchSize, gradientAccumulation, maxTrainSteps, learningRate,
                warmupSteps, weightDecay, maxGradNorm, seed, devices, activationCheckpointing, sharding,
                offloadedCheckpoints, optimizerMoments, keptAttentionLayers);
    }

    /** This run with the AdamW moments kept in {@code moments}. */
    public TrainConfig withOptimizerMoments(OptimizerMoments moments) {
        return new TrainConfig(model, parallel, seqLength, batchSize, gradientAccumulation, maxTrainSteps, learningRate,
                warmupSteps, weightDecay, maxGradNorm, seed, devices, activationCheckpointing, sharding,
                offloadedCheckpoints, moments, keptAttentionLayers);
    }

    /** The CPU backend's precision; GPU ranks store bf16 whatever this says. */
    public DType dtype() {
        return devices.cpuType();
    }

    /** Tokens in one optimizer step over the whole world. */
    public long tokensPerStep() {
        return (long) parallel.dpDegree() * batchSize * gradientAccumulation * seqLength;
    }

    private static void positive(String name, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(name + " must be positive, not " + value);
        }
    }
}
