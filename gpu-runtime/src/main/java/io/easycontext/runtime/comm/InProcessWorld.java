package io.easycontext.runtime.comm;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * What all groups split from one in-process world share: the rendezvous timeout and the abort switch. When one
 * rank fails, aborting the world wakes every rank blocked in any of its groups with a {@link CommAbortedException}
 * instead of leaving them to wait forever.
 */
final class InProcessWorld {
    final Duration timeout;
    private final List<InProcessGroup> groups = new CopyOnWriteArrayList<>();
    private volatile Throwable abortCause;

    InProcessWorld(Duration timeout) {
        this.timeout = timeout;
    }

    void register(InProcessGroup group) {
        groups.add(group);
    }

    /** Marks the world failed and wakes every waiter; returns the exception a waiter should throw. */
    CommAbortedException abort(Throwable cause) {
        synchronized (this) {
            if (abortCause == null) {
                abortCause = cause;
            }
        }
        for (InProcessGroup g : groups) {
            g.wakeAll();
        }
        return aborted();
    }

    boolean isAborted() {
        return abortCause != null;
    }

    CommAbortedException aborted() {
        Throwable cause = abortCause;
        return new CommAbortedException("communication aborted: " + (cause == null ? "unknown cause" : cause.getMessage()),
                cause);
    }
}
