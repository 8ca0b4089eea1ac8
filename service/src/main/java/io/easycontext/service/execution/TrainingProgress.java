package io.easycontext.service.execution;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;

import io.easycontext.runtime.spec.TrainSpec;
import io.easycontext.runtime.train.StepMetrics;
import io.easycontext.runtime.train.TrainConfig;
import io.easycontext.service.job.JobChanges;
import io.easycontext.service.job.JobProgress;
import io.easycontext.service.job.JobReason;
import io.easycontext.service.metrics.JobMeters;
import io.easycontext.service.metrics.JobMetrics;
import io.easycontext.service.node.NodeProperties;
import org.springframework.stereotype.Component;

/**
 * Turns a training's steps into the job's progress: the persisted {@link JobProgress} and a log line (at most one
 * a second, and the last step of each stage), the Prometheus meters, and each stage's {@code metrics/stage-K.jsonl},
 * which holds exactly what the stage's command line prints on stdout. A NaN or infinite loss fails the job.
 * Called on rank 0's thread.
 */
public final class TrainingProgress implements AutoCloseable {

    private static final Duration WRITE_INTERVAL = Duration.ofSeconds(1);

    private final JobExecution execution;
    private final List<TrainSpec> runs;
    private final JobChanges changes;
    private final JobMeters meters;
    private final Clock clock;
    private final Double gpuPeakFlops;
    private final long totalSteps;
    private final long totalTokens;

    private int stage = -1;
    private TrainConfig config;
    private BufferedWriter metricsFile;
    private long step;
    private long tokens;
    private long peakMemory;
    private Instant lastWrite = Instant.MIN;

    private TrainingProgress(JobExecution execution, List<TrainSpec> runs, JobChanges changes, JobMeters meters,
            Clock clock, Double gpuPeakFlops) {
        this.execution = execution;
        this.runs = runs;
        this.changes = changes;
        this.meters = meters;
        this.clock = clock;
        this.gpuPeakFlops = gpuPeakFlops;
        this.totalSteps = runs.stream().mapToLong(TrainSpec::maxTrainSteps).sum();
        this.totalTokens = runs.stream().mapToLong(r -> tokensOf(r.toTrainConfig())).sum();
    }

    /** Stage {@code index} of the runs starts with this configuration. */
    public void stageStarted(int index, TrainConfig stageConfig) {
        closeMetricsFile();
        this.stage = index;
        this.config = stageConfig;
        try {
            Path file = execution.workDir().resolve("metrics").resolve("stage-" + index + ".jsonl");
            Files.createDirectories(file.getParent());
            // A retried job starts its stages again: the file holds this attempt's steps only.
            metricsFile = Files.newBufferedWriter(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public void step(StepMetrics m) {
        if (!Double.isFinite(m.loss())) {
            throw new JobFailedException(JobReason.NAN_LOSS, String.format(Locale.ROOT,
                    "the loss is %s at step %d of stage %d; training stopped", m.loss(), m.step(), stage));
        }
        step++;
        tokens += m.tokens();
        peakMemory = Math.max(peakMemory, memoryInUse());
        Double mfu = mfu(m);
        meters.step(m.tokens(), Duration.ofNanos((long) (m.tokens() / m.tokensPerSec() * 1e9)), m.loss(), mfu);
        writeMetricsLine(m);
        Instant now = clock.instant();
        boolean stageDone = m.step() == config.maxTrainSteps();
        if (stageDone || Duration.between(lastWrite, now).compareTo(WRITE_INTERVAL) >= 0) {
            lastWrite = now;
            persist(m, mfu, now);
            execution.log(String.format(Locale.ROOT,
                    "stage %d/%d step %d/%d  loss %.4f  grad_norm %.4f  lr %.3g  %.0f tokens/s",
                    stage + 1, runs.size(), m.step(), config.maxTrainSteps(), m.loss(), m.gradNorm(), m.lr(),
                    m.tokensPerSec()));
        }
    }

    private void persist(StepMetrics m, Double mfu, Instant now) {
        long remainingTokens = totalTokens - tokens;
        Instant eta = now.plusMillis((long) (remainingTokens / m.tokensPerSec() * 1000));
        JobProgress progress = new JobProgress(stage, runs.size(), step, totalSteps, tokens, m.loss(),
                m.tokensPerSec(), mfu, peakMemory, eta);
        changes.apply(execution.jobId(), (job, at) -> {
            job.recordProgress(progress, at);
            return job;
        });
    }

    /** Only where the devices' peak is known: GPUs with {@code easycontext.node.gpu-peak-flops} set. */
    private Double mfu(StepMetrics m) {
        if (gpuPeakFlops == null || execution.gpuIds().isEmpty()) {
            return null;
        }
        double achieved = m.tokensPerSec() * ModelFlops.perToken(config.model(), config.seqLength());
        return achieved / (gpuPeakFlops * execution.gpuIds().size());
    }

    /** The JVM heap in use: the CPU backend's tensors live there. GPU jobs will read their device pool instead. */
    private static long memoryInUse() {
        Runtime runtime = Runtime.getRuntime();
        return runtime.totalMemory() - runtime.freeMemory();
    }

    private void writeMetricsLine(StepMetrics m) {
        try {
            metricsFile.write(m.toJson());
            metricsFile.newLine();
            metricsFile.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public long steps() {
        return step;
    }

    public long tokens() {
        return tokens;
    }

    private static long tokensOf(TrainConfig config) {
        return config.tokensPerStep() * config.maxTrainSteps();
    }

    private void closeMetricsFile() {
        if (metricsFile != null) {
            try {
                metricsFile.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            metricsFile = null;
        }
    }

    /** Removes the job's meters and closes its files. */
    @Override
    public void close() {
        meters.close();
        closeMetricsFile();
    }

    /** Creates the progress of each job's training. */
    @Component
    public static class Factory {

        private final JobChanges changes;
        private final JobMetrics metrics;
        private final Clock clock;
        private final NodeProperties node;

        Factory(JobChanges changes, JobMetrics metrics, Clock clock, NodeProperties node) {
            this.changes = changes;
            this.metrics = metrics;
            this.clock = clock;
            this.node = node;
        }

        TrainingProgress create(JobExecution execution, List<TrainSpec> runs) {
            return new TrainingProgress(execution, runs, changes, metrics.forJob(execution.jobId()), clock,
                    node.gpuPeakFlops());
        }
    }
}
