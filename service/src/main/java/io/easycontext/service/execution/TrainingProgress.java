package io.easycontext.service.execution;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;

import io.easycontext.runtime.model.ModelFlops;
import io.easycontext.runtime.train.StepMetrics;
import io.easycontext.runtime.train.TrainConfig;
import io.easycontext.service.job.JobChanges;
import io.easycontext.service.job.JobProgress;
import io.easycontext.service.job.JobReason;
import io.easycontext.service.metrics.JobMeters;

/**
 * Turns a training's steps into the job's progress: the persisted {@link JobProgress} and a log line (at most one
 * a second, and the last step of each stage), the Prometheus meters, and each stage's {@link MetricsFile}. A NaN or
 * infinite loss fails the job. Steps and tokens count over every stage, those of an earlier attempt included when
 * this one resumed from its checkpoint. Called on rank 0's thread.
 */
public final class TrainingProgress implements AutoCloseable {

    private static final Duration WRITE_INTERVAL = Duration.ofSeconds(1);

    private final JobExecution execution;
    private final List<TrainConfig> stages;
    private final JobChanges changes;
    private final JobMeters meters;
    private final Clock clock;
    private final Double gpuPeakFlops;
    private final long totalSteps;
    private final long totalTokens;

    private int stage = -1;
    private TrainConfig config;
    private MetricsFile metricsFile;
    private long step;
    private long tokens;
    private double lastLoss = Double.NaN;
    private long peakMemory;
    private Instant lastWrite = Instant.MIN;

    TrainingProgress(JobExecution execution, List<TrainConfig> stages, JobChanges changes, JobMeters meters,
            Clock clock, Double gpuPeakFlops) {
        this.execution = execution;
        this.stages = List.copyOf(stages);
        this.changes = changes;
        this.meters = meters;
        this.clock = clock;
        this.gpuPeakFlops = gpuPeakFlops;
        this.totalSteps = stepsBefore(stages.size());
        this.totalTokens = tokensBefore(stages.size());
    }

    /**
     * Stage {@code index} starts, its first {@code resumedSteps} steps done by an earlier attempt (0: it starts from
     * its beginning). Every earlier stage is done.
     */
    public void stageStarted(int index, long resumedSteps) {
        closeMetricsFile();
        stage = index;
        config = stages.get(index);
        step = stepsBefore(index) + resumedSteps;
        tokens = tokensBefore(index) + config.tokensPerStep() * resumedSteps;
        Path file = metricsFile(execution.workDir(), index);
        metricsFile = resumedSteps == 0 ? MetricsFile.create(file) : MetricsFile.resume(file, resumedSteps);
        lastLoss = metricsFile.lastLoss();
    }

    /** Stage {@code stage}'s {@code metrics/stage-K.jsonl} in a job's directory: one JSON line per optimizer step. */
    public static Path metricsFile(Path workDir, int stage) {
        return workDir.resolve("metrics").resolve("stage-" + stage + ".jsonl");
    }

    public void step(StepMetrics m) {
        if (!Double.isFinite(m.loss())) {
            throw new JobFailedException(JobReason.NAN_LOSS, String.format(Locale.ROOT,
                    "the loss is %s at step %d of stage %d; training stopped", m.loss(), m.step(), stage));
        }
        step++;
        tokens += m.tokens();
        lastLoss = m.loss();
        // On GPUs the step reports its fullest rank's device pool; on the CPU backend the heap is what fills up.
        peakMemory = Math.max(peakMemory, m.peakDeviceBytes() > 0 ? m.peakDeviceBytes() : ProgressReports.heapInUse());
        Double mfu = mfu(m);
        meters.step(m.tokens(), Duration.ofNanos((long) (m.tokens() / m.tokensPerSec() * 1e9)), m.loss(), mfu);
        metricsFile.append(m);
        Instant now = clock.instant();
        boolean stageDone = m.step() == config.maxTrainSteps();
        if (stageDone || Duration.between(lastWrite, now).compareTo(WRITE_INTERVAL) >= 0) {
            lastWrite = now;
            persist(m, mfu, now);
            execution.log(String.format(Locale.ROOT,
                    "stage %d/%d step %d/%d  loss %.4f  grad_norm %.4f  lr %.3g  %.0f tokens/s",
                    stage + 1, stages.size(), m.step(), config.maxTrainSteps(), m.loss(), m.gradNorm(), m.lr(),
                    m.tokensPerSec()));
        }
    }

    private void persist(StepMetrics m, Double mfu, Instant now) {
        long remainingTokens = totalTokens - tokens;
        Instant eta = now.plusMillis((long) (remainingTokens / m.tokensPerSec() * 1000));
        JobProgress progress = new JobProgress(step, totalSteps, "steps", stage, stages.size(), step, totalSteps,
                tokens, m.loss(), m.tokensPerSec(), mfu, peakMemory, eta);
        changes.apply(execution.jobId(), (job, at) -> {
            job.recordProgress(progress, at);
            return job;
        });
    }

    /** Only where the devices' peak is known ({@code NodeGpus#peakFlops}: the property, else the card's). */
    private Double mfu(StepMetrics m) {
        if (gpuPeakFlops == null || execution.gpuIds().isEmpty()) {
            return null;
        }
        return ModelFlops.utilisation(config.model(), config.seqLength(), m.tokensPerSec(), execution.gpuIds().size(),
                gpuPeakFlops);
    }

    /** Steps over every stage so far, this attempt's and those it resumed from. */
    public long steps() {
        return step;
    }

    public long tokens() {
        return tokens;
    }

    /** The latest step's loss, this attempt's or, before its first step, the one the resumed stage's file ends with. */
    public double lastLoss() {
        return lastLoss;
    }

    private long stepsBefore(int index) {
        return stages.subList(0, index).stream().mapToLong(TrainConfig::maxTrainSteps).sum();
    }

    private long tokensBefore(int index) {
        return stages.subList(0, index).stream().mapToLong(c -> c.tokensPerStep() * c.maxTrainSteps()).sum();
    }

    private void closeMetricsFile() {
        if (metricsFile != null) {
            metricsFile.close();
            metricsFile = null;
        }
    }

    /** Removes the job's meters and closes its files. */
    @Override
    public void close() {
        meters.close();
        closeMetricsFile();
    }
}
