package io.easycontext.service.execution;

import java.util.UUID;

import io.easycontext.runtime.train.CancellationToken;
import io.easycontext.service.scheduler.Allocation;

/** A job a runner thread works on: what it holds, and the flags its step loop checks. */
final class RunningJob implements CancellationToken {

    private final UUID id;
    private final Allocation allocation;
    private volatile boolean cancelRequested;
    private volatile boolean shuttingDown;

    RunningJob(UUID id, Allocation allocation) {
        this.id = id;
        this.allocation = allocation;
    }

    UUID id() {
        return id;
    }

    Allocation allocation() {
        return allocation;
    }

    /** A client cancelled it. */
    void cancel() {
        cancelRequested = true;
    }

    /** The service is stopping: the job goes back to the queue rather than ending. */
    void stopForShutdown() {
        shuttingDown = true;
    }

    boolean isShuttingDown() {
        return shuttingDown;
    }

    @Override
    public boolean isCancellationRequested() {
        return cancelRequested || shuttingDown;
    }
}
