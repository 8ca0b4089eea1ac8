package io.easycontext.service.execution;

import java.nio.file.Path;
import java.util.List;
import java.util.UUID;

import io.easycontext.runtime.spec.RunSpec;
import io.easycontext.runtime.train.CancellationToken;
import io.easycontext.runtime.train.TrainConfig;
import io.easycontext.service.log.JobLog;

/**
 * What an executor gets to run one attempt of a job: the spec, the devices, the cancellation to honour at step
 * boundaries, a directory for its artifacts, the job's log, and progress reporting.
 *
 * @param attempt from 1; an attempt after the first finds in {@code workDir} what the earlier ones left
 * @param spec the job's spec, whose devices are the GPUs it holds (or its CPU ranks)
 * @param gpuIds the CUDA ordinals it holds exclusively, rank by rank; empty for the CPU backend
 * @param workDir the job's artifact directory: what is written there is listed and downloadable
 */
public record JobExecution(
        UUID jobId,
        int attempt,
        RunSpec spec,
        List<Integer> gpuIds,
        CancellationToken cancellation,
        Path workDir,
        JobLog log,
        ProgressReports progress) {

    public void log(String line) {
        log.append(jobId, line);
    }

    /** Progress reporting for a training of these stages, in order. */
    public TrainingProgress trainingProgress(List<TrainConfig> stages) {
        return progress.training(this, stages);
    }

    /**
     * Progress reporting for an evaluation of units (cells, lengths) with these context lengths, in the order they
     * are done; it also stops the evaluation between two units when it is cancelled.
     */
    public EvaluationProgress evaluationProgress(String unit, List<Integer> contextLengths) {
        return progress.evaluation(this, unit, contextLengths);
    }
}
