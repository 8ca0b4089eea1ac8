package io.easycontext.service.scheduler;

import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import io.easycontext.service.execution.JobRunner;
import io.easycontext.service.job.IllegalJobTransitionException;
import io.easycontext.service.job.Job;
import io.easycontext.service.job.JobChanges;
import io.easycontext.service.job.JobEvents;
import io.easycontext.service.job.JobRepository;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.event.EventListener;
import org.springframework.orm.ObjectOptimisticLockingFailureException;
import org.springframework.stereotype.Component;
import org.springframework.transaction.event.TransactionalEventListener;

/**
 * Starts queued jobs when their resources are free: by priority, then in submission order. A job that does not fit
 * blocks the jobs behind it that need the same kind of resource (GPUs, or a CPU slot), so a large job is not
 * starved by a stream of small ones; a CPU job never waits for GPUs, nor a GPU job for a CPU slot.
 *
 * <p>All decisions are made on one thread, woken when a job is submitted or ends, and every
 * {@link SchedulerProperties#pollInterval()} in case a wake-up was missed. It starts once the application is ready,
 * that is after the recovery at start-up has put interrupted jobs back in the queue.
 */
@Component
class Scheduler implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(Scheduler.class);

    private enum ResourceKind { GPU, CPU }

    private final JobRepository jobs;
    private final JobChanges changes;
    private final ResourcePool pool;
    private final JobRunner runner;
    private final SchedulerProperties properties;
    private final ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor(
            r -> new Thread(r, "job-scheduler"));
    private volatile boolean running;

    Scheduler(JobRepository jobs, JobChanges changes, ResourcePool pool, JobRunner runner,
            SchedulerProperties properties) {
        this.jobs = jobs;
        this.changes = changes;
        this.pool = pool;
        this.runner = runner;
        this.properties = properties;
    }

    @EventListener(ApplicationReadyEvent.class)
    void startDispatching() {
        long period = properties.pollInterval().toMillis();
        thread.scheduleWithFixedDelay(this::dispatchSafely, 0, period, TimeUnit.MILLISECONDS);
        running = true;
    }

    @TransactionalEventListener(fallbackExecution = true)
    void onSubmitted(JobEvents.Submitted submitted) {
        wake();
    }

    @EventListener
    void onEnded(JobRunner.Ended ended) {
        pool.release(ended.allocation());
        wake();
    }

    private void wake() {
        if (running) {
            thread.execute(this::dispatchSafely);
        }
    }

    private void dispatchSafely() {
        try {
            dispatch();
        } catch (RuntimeException e) {
            // The next wake-up or poll tries again; a broken database connection must not end the scheduler thread.
            log.error("Scheduling failed; retrying at the next wake-up", e);
        }
    }

    private void dispatch() {
        Set<ResourceKind> blocked = EnumSet.noneOf(ResourceKind.class);
        List<Job> queue = jobs.findQueue();
        for (Job job : queue) {
            ResourceKind kind = job.getGpus() > 0 ? ResourceKind.GPU : ResourceKind.CPU;
            if (blocked.contains(kind)) {
                continue;
            }
            Optional<Allocation> allocation = pool.tryAllocate(job.getGpus());
            if (allocation.isEmpty()) {
                blocked.add(kind);
                continue;
            }
            if (!claim(job, allocation.get())) {
                pool.release(allocation.get());
                continue;
            }
            runner.launch(job.getId(), allocation.get());
        }
    }

    /** QUEUED → STARTING; false when a client cancelled it since the queue was read. */
    private boolean claim(Job job, Allocation allocation) {
        try {
            changes.apply(job.getId(), (j, now) -> {
                j.start(allocation.gpuIds(), now);
                return j;
            });
            return true;
        } catch (IllegalJobTransitionException | ObjectOptimisticLockingFailureException e) {
            log.debug("Job {} changed before it could start: {}", job.getId(), e.getMessage());
            return false;
        }
    }

    @Override
    public void start() {
        // Dispatching starts with startDispatching(), once recovery has run; nothing to do this early.
    }

    @Override
    public void stop() {
        running = false;
        thread.shutdownNow();
    }

    @Override
    public boolean isRunning() {
        return !thread.isShutdown();
    }

    /** Stops before the runners do, so that nothing starts while they wind down. */
    @Override
    public int getPhase() {
        return JobRunner.PHASE + 1;
    }
}
