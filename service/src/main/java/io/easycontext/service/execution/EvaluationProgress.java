package io.easycontext.service.execution;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;

import io.easycontext.service.job.JobChanges;
import io.easycontext.service.job.JobProgress;

/**
 * An evaluation's progress in units of its work (the needle test's cells, perplexity's lengths): the persisted
 * {@link JobProgress}, at most once a second and after the last unit, and a log line per unit. Between two units it
 * is also where a cancellation stops the evaluation, the only boundary the runtime's evaluations offer. The finish
 * estimate assumes a unit takes time in proportion to its context length. Called on rank 0's thread.
 */
public final class EvaluationProgress {

    private static final Duration WRITE_INTERVAL = Duration.ofSeconds(1);

    private final JobExecution execution;
    private final String unit;
    private final List<Integer> contextLengths;
    private final JobChanges changes;
    private final Clock clock;
    private final long totalTokens;

    private Instant started;
    private int done;
    private long doneTokens;
    private long peakMemory;
    private Instant lastWrite = Instant.MIN;

    EvaluationProgress(JobExecution execution, String unit, List<Integer> contextLengths, JobChanges changes,
            Clock clock) {
        this.execution = execution;
        this.unit = unit;
        this.contextLengths = List.copyOf(contextLengths);
        this.changes = changes;
        this.clock = clock;
        this.totalTokens = contextLengths.stream().mapToLong(Integer::longValue).sum();
    }

    /** Shows 0 of the total at once; stops here if the job was cancelled before it started. */
    public void start() {
        started = clock.instant();
        peakMemory = ProgressReports.heapInUse();
        persist(null);
        stopIfCancelled();
    }

    /** Unit {@code done + 1} is finished, as {@code result} says in the log; then stops if cancelled meanwhile. */
    public void unitDone(String result) {
        doneTokens += contextLengths.get(done);
        done++;
        peakMemory = Math.max(peakMemory, ProgressReports.heapInUse());
        execution.log(String.format(Locale.ROOT, "%d/%d %s done: %s", done, contextLengths.size(), unit, result));
        Instant now = clock.instant();
        boolean last = done == contextLengths.size();
        if (last || Duration.between(lastWrite, now).compareTo(WRITE_INTERVAL) >= 0) {
            lastWrite = now;
            Duration elapsed = Duration.between(started, now);
            persist(now.plus(elapsed.multipliedBy(totalTokens - doneTokens).dividedBy(doneTokens)));
        }
        // After the last unit the results are whole: they are written rather than thrown away.
        if (!last) {
            stopIfCancelled();
        }
    }

    private void stopIfCancelled() {
        if (execution.cancellation().isCancellationRequested()) {
            throw new JobCancelledException(done + " of " + contextLengths.size() + " " + unit);
        }
    }

    private void persist(Instant estimatedFinish) {
        JobProgress progress = JobProgress.ofEvaluation(done, contextLengths.size(), unit, peakMemory,
                estimatedFinish);
        changes.apply(execution.jobId(), (job, at) -> {
            job.recordProgress(progress, at);
            return job;
        });
    }
}
