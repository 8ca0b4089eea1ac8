package io.easycontext.service.job;

import java.time.Instant;

import jakarta.persistence.Column;
import jakarta.persistence.Embeddable;

/**
 * How far a job has got, as of its latest reported step, cell or length. {@code done} of {@code total} {@code unit}
 * is there for every kind, for a progress bar; a training's steps and tokens count over all its stages.
 *
 * @param done units of work finished: optimizer steps, needle cells or perplexity lengths
 * @param total units of work the job has
 * @param unit {@code steps}, {@code cells} or {@code lengths}
 * @param stage the training stage running now, from 0; null for an evaluation
 * @param stages how many stages the training has
 * @param step optimizer steps done over all stages
 * @param totalSteps optimizer steps over all stages
 * @param tokens tokens trained on so far
 * @param loss the latest step's loss
 * @param tokensPerSecond the latest step's throughput
 * @param mfu model FLOPs utilisation of the latest step, 0–1; null where the devices' peak is unknown
 * @param peakMemoryBytes the most memory seen in use at a step or unit boundary: device memory on GPUs, the JVM heap
 *     on the CPU backend
 * @param estimatedFinishAt when the job should finish at the throughput so far
 */
@Embeddable
public record JobProgress(
        @Column(name = "progress_done") Long done,
        @Column(name = "progress_total") Long total,
        @Column(name = "progress_unit") String unit,
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

    /** An evaluation's progress: it has units, memory and a finish estimate, and none of a training's fields. */
    public static JobProgress ofEvaluation(long done, long total, String unit, long peakMemoryBytes,
            Instant estimatedFinishAt) {
        return new JobProgress(done, total, unit, null, null, null, null, null, null, null, null, peakMemoryBytes,
                estimatedFinishAt);
    }
}
