package io.easycontext.runtime.comm;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs one body per simulated rank, each on its own thread with its own communicator, and returns their results
 * in rank order. If any rank fails, the world is aborted so the others stop waiting, and the first real failure
 * (not the aborts it caused) is rethrown.
 */
public final class InProcessRanks {

    /** The work of one rank. */
    @FunctionalInterface
    public interface RankBody<T> {
        T run(InProcessCommunicator world) throws Exception;
    }

    private InProcessRanks() {
    }

    public static <T> List<T> run(int size, RankBody<T> body) {
        return run(size, InProcessCommunicator.DEFAULT_TIMEOUT, body);
    }

    public static <T> List<T> run(int size, Duration timeout, RankBody<T> body) {
        List<InProcessCommunicator> comms = InProcessCommunicator.create(size, timeout);
        Object[] results = new Object[size];
        Throwable[] failures = new Throwable[size];
        Thread[] threads = new Thread[size];
        for (int r = 0; r < size; r++) {
            int rank = r;
            threads[r] = new Thread(() -> {
                try {
                    results[rank] = body.run(comms.get(rank));
                } catch (Throwable t) {
                    failures[rank] = t;
                    comms.get(rank).abort(t);
                }
            }, "rank-" + r);
            threads[r].start();
        }
        for (Thread t : threads) {
            try {
                t.join();
            } catch (InterruptedException e) {
                comms.get(0).abort(e);
                Thread.currentThread().interrupt();
                throw new CommAbortedException("interrupted while waiting for the ranks", e);
            }
        }
        Throwable first = firstFailure(failures);
        if (first != null) {
            if (first instanceof RuntimeException re) {
                throw re;
            }
            if (first instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(first.getMessage(), first);
        }
        List<T> inRankOrder = new ArrayList<>(size);
        for (Object r : results) {
            @SuppressWarnings("unchecked")
            T t = (T) r;
            inRankOrder.add(t);
        }
        return inRankOrder;
    }

    /** A rank's own failure rather than an abort it caused in the others. */
    private static Throwable firstFailure(Throwable[] failures) {
        Throwable anyAbort = null;
        for (Throwable t : failures) {
            if (t instanceof CommAbortedException) {
                anyAbort = anyAbort == null ? t : anyAbort;
            } else if (t != null) {
                return t;
            }
        }
        return anyAbort;
    }
}
