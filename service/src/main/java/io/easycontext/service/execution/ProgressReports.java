package io.easycontext.service.execution;

import java.time.Clock;
import java.util.List;

import io.easycontext.runtime.train.TrainConfig;
import io.easycontext.service.job.JobChanges;
import io.easycontext.service.metrics.JobMetrics;
import io.easycontext.service.node.NodeGpus;
import org.springframework.stereotype.Component;

/** Creates the progress reporting of each attempt, for its kind of work; executors reach it through their execution. */
@Component
public class ProgressReports {

    private final JobChanges changes;
    private final JobMetrics metrics;
    private final Clock clock;
    private final NodeGpus gpus;

    ProgressReports(JobChanges changes, JobMetrics metrics, Clock clock, NodeGpus gpus) {
        this.changes = changes;
        this.metrics = metrics;
        this.clock = clock;
        this.gpus = gpus;
    }

    TrainingProgress training(JobExecution execution, List<TrainConfig> stages) {
        return new TrainingProgress(execution, stages, changes, metrics.forJob(execution.jobId()), clock,
                gpus.peakFlops().isPresent() ? gpus.peakFlops().getAsDouble() : null);
    }

    EvaluationProgress evaluation(JobExecution execution, String unit, List<Integer> contextLengths) {
        return new EvaluationProgress(execution, unit, contextLengths, changes, clock);
    }

    /** The JVM heap in use: the CPU backend's tensors live there. GPU jobs will read their device pool instead. */
    static long heapInUse() {
        Runtime runtime = Runtime.getRuntime();
        return runtime.totalMemory() - runtime.freeMemory();
    }
}
