package io.easycontext.service.job.spec;

import io.easycontext.runtime.parallel.ParallelMode;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Positive;
import jakarta.validation.constraints.Size;

/**
 * A training run, with the runtime CLI's flags in camelCase. Optional fields left out take the defaults set in the
 * constructor, and are stored with them, so that a job shows what it runs with.
 *
 * @param model a preset name such as {@code tiny}, or the directory of a model
 * @param parallelMode the runtime's own enum, so that the API accepts exactly the modes it runs; in JSON by its
 *     CLI name, e.g. {@code zigzag_ring_attn}
 * @param ropeTheta the RoPE base; null keeps the model's own
 * @param ulyssesDegree for {@code usp_attn}: how many GPUs share a sequence by heads; null lets the runtime choose
 * @param ringDegree for {@code usp_attn}: how many GPUs pass key/value blocks around a ring; null lets the runtime choose
 * @param dpDegree how many data-parallel replicas; null lets the runtime choose
 */
public record TrainSpec(
        @NotBlank @Size(max = 1024) String model,
        ParallelMode parallelMode,
        @NotNull @Min(2) Integer seqLength,
        @Positive Double ropeTheta,
        @Min(1) Integer batchSize,
        @Min(1) Integer gradientAccumulateEvery,
        @Positive Double learningRate,
        @NotNull @Min(1) Integer maxTrainSteps,
        Long seed,
        @Min(1) Integer ulyssesDegree,
        @Min(1) Integer ringDegree,
        @Min(1) Integer dpDegree) implements KindSpec {

    public TrainSpec {
        parallelMode = parallelMode == null ? ParallelMode.ZIGZAG_RING_ATTN : parallelMode;
        batchSize = batchSize == null ? 1 : batchSize;
        gradientAccumulateEvery = gradientAccumulateEvery == null ? 1 : gradientAccumulateEvery;
        learningRate = learningRate == null ? 2e-5 : learningRate;
        seed = seed == null ? 0L : seed;
    }
}
