package io.easycontext.service.job;

import java.time.Instant;

import jakarta.persistence.Embeddable;

/**
 * How far a job has got, as of its latest reported step. Steps and tokens count over all stages.
 *
 * @param stage the stage running now, from 0
 * @param stages how many stages the job has
 * @param step optimizer steps done over all stages
 * @param totalSteps optimizer steps over all stages
 * @param tokens tokens trained on so far
 * @param loss the latest step's loss
 * @param tokensPerSecond the latest step's throughput
 * @param mfu model FLOPs utilisation of the latest step, 0–1; null where the devices' peak is unknown
 * @param peakMemoryBytes the most memory seen in use at a step boundary: device memory on GPUs, the JVM heap on
 *     the CPU backend
 * @param estimatedFinishAt when the job should finish at the latest throughput
 */
@Embeddable
public record JobProgress(
        Integer stage,
        Integer stages,
        Long step,
        Long totalSteps,
        Long tokens,
        Double loss,
        Double tokensPerSecond,
        Double mfu,
        Long peakMemoryBytes,
        Instant estimatedFinishAt) {
}
