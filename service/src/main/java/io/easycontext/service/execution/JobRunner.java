package io.easycontext.service.execution;

import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.easycontext.runtime.spec.RunSpec;
import io.easycontext.service.artifact.ArtifactStore;
import io.easycontext.service.job.Job;
import io.easycontext.service.job.JobChanges;
import io.easycontext.service.job.JobEvents;
import io.easycontext.service.job.JobReason;
import io.easycontext.service.job.JobState;
import io.easycontext.service.job.RuntimeCommandLines;
import io.easycontext.service.job.spec.JobDevices;
import io.easycontext.service.log.JobLog;
import io.easycontext.service.scheduler.Allocation;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;
import tools.jackson.databind.json.JsonMapper;

/**
 * Runs each started job on a thread of its own, in this process, through its kind's {@link JobExecutor}, and
 * moves it through STARTING → RUNNING → SUCCEEDED | FAILED | CANCELLED. Cancellation reaches the executor
 * directly, through the token its step loop checks. When the service stops, running jobs stop at their next step
 * boundary and go back to the queue; a crash leaves them RUNNING for the recovery at the next start-up.
 */
@Component
public class JobRunner implements SmartLifecycle {

    /** Stops after the scheduler (which stops before it) and before the web server and the database go. */
    public static final int PHASE = SmartLifecycle.DEFAULT_PHASE - 100;

    private static final Logger log = LoggerFactory.getLogger(JobRunner.class);
    private static final long SHUTDOWN_WAIT_SECONDS = 60;

    /**
     * Published when a job's attempt has ended and its resources are free again: after its executor returned, that
     * is after the runtime joined every rank and each closed its backend, so the next job on these GPUs finds none
     * of this one's memory.
     */
    public record Ended(UUID jobId, Allocation allocation) {
    }

    private final JobChanges changes;
    private final JobExecutors executors;
    private final ArtifactStore artifacts;
    private final JobLog jobLog;
    private final ProgressReports progress;
    private final JsonMapper json;
    private final ApplicationEventPublisher events;
    private final Map<UUID, RunningJob> running = new ConcurrentHashMap<>();
    private final AtomicInteger threads = new AtomicInteger();
    private final ExecutorService workers = Executors.newCachedThreadPool(
            r -> new Thread(r, "job-runner-" + threads.incrementAndGet()));
    private volatile boolean stopped;

    JobRunner(JobChanges changes, JobExecutors executors, ArtifactStore artifacts, JobLog jobLog,
            ProgressReports progress, JsonMapper json, ApplicationEventPublisher events) {
        this.changes = changes;
        this.executors = executors;
        this.artifacts = artifacts;
        this.jobLog = jobLog;
        this.progress = progress;
        this.json = json;
        this.events = events;
    }

    /** Runs a job the scheduler has just moved to STARTING with these resources. */
    public void launch(UUID jobId, Allocation allocation) {
        RunningJob job = new RunningJob(jobId, allocation);
        running.put(jobId, job);
        workers.execute(() -> run(job));
    }

    @EventListener
    void onCancelRequested(JobEvents.CancelRequested cancel) {
        RunningJob job = running.get(cancel.jobId());
        if (job != null) {
            job.cancel();
        }
    }

    private void run(RunningJob job) {
        UUID id = job.id();
        try {
            Job started = changes.apply(id, (j, now) -> {
                if (j.getState() == JobState.STARTING) {
                    if (!job.allocation().onCpu()) {
                        RunSpec placed = placedSpec(j, job.allocation());
                        j.placeOn(json.writeValueAsString(placed), RuntimeCommandLines.of(placed));
                    }
                    j.run(now);
                }
                return j;
            });
            if (started.getState() != JobState.RUNNING) {
                // Cancelled between the scheduler's claim and this thread's start: the executor stops before its
                // first step, and the job ends CANCELLED through the same path as any other cancellation.
                job.cancel();
            }
            JobExecutor executor = executors.find(started.getKind()).orElseThrow(() -> new IllegalStateException(
                    "no executor for " + started.getKind() + ", which admission should have refused"));
            RunSpec spec = placedSpec(started, job.allocation());
            Path workDir = artifacts.directoryOf(id);
            jobLog.append(id, "attempt " + started.getAttempt() + " started on "
                    + (job.allocation().onCpu() ? "the CPU backend" : "GPUs " + job.allocation().gpuIds()));
            JobExecution execution = new JobExecution(id, started.getAttempt(), spec, job.allocation().gpuIds(), job,
                    workDir, jobLog, progress);
            end(job, Outcome.succeeded(executor.execute(execution)));
        } catch (Throwable failure) {
            Outcome outcome = Outcome.of(failure, job);
            if (outcome.reason() == JobReason.INTERNAL || outcome.reason() == JobReason.OUT_OF_MEMORY) {
                log.error("Job {} failed", id, failure);
            }
            end(job, outcome);
        } finally {
            running.remove(id);
            events.publishEvent(new Ended(id, job.allocation()));
        }
    }

    /** The job's spec on the GPUs it holds: whatever ordinals it was queued with, it runs on these. */
    private RunSpec placedSpec(Job job, Allocation allocation) {
        return JobDevices.onGpus(json.readValue(job.getSpecJson(), job.getKind().specType()), allocation.gpuIds());
    }

    private void end(RunningJob job, Outcome outcome) {
        UUID id = job.id();
        try {
            Job ended = changes.apply(id, (j, now) -> {
                if (outcome.requeue()) {
                    if (j.getState() == JobState.CANCELLING) {
                        j.finish(JobState.CANCELLED, JobReason.USER_CANCELLED, "cancelled as the service stopped", now);
                    } else {
                        j.requeueForShutdown(outcome.message(), now);
                    }
                } else {
                    j.finish(outcome.state(), outcome.reason(), outcome.message(), now);
                }
                return j;
            });
            jobLog.append(id, ended.getState() + " (" + ended.getReason() + "): " + ended.getMessage());
        } catch (RuntimeException e) {
            // Left STARTING or RUNNING, the job is requeued by the recovery at the next start-up.
            log.error("Could not record the end of job {} ({})", id, outcome, e);
        }
    }

    @Override
    public void start() {
        stopped = false;
    }

    /** Asks every running job to stop at its next step boundary and waits for them to be requeued. */
    @Override
    public void stop() {
        stopped = true;
        running.values().forEach(RunningJob::stopForShutdown);
        workers.shutdown();
        try {
            if (!workers.awaitTermination(SHUTDOWN_WAIT_SECONDS, TimeUnit.SECONDS)) {
                log.warn("{} job(s) did not stop within {} s; the next start-up requeues them", running.size(),
                        SHUTDOWN_WAIT_SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public boolean isRunning() {
        return !stopped;
    }

    @Override
    public int getPhase() {
        return PHASE;
    }
}
