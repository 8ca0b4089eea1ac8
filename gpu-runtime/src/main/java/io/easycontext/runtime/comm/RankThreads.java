package io.easycontext.runtime.comm;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * Runs one body per rank, each on its own thread, and returns their results in rank order. A rank that fails calls
 * {@code abort} so that the others, which may be waiting for it in a collective, stop too; the first real failure
 * (not a {@link CommAbortedException} that the abort caused elsewhere) is rethrown.
 */
public final class RankThreads {

    /** The work of rank {@code rank}. */
    @FunctionalInterface
    public interface Body<T> {
        T run(int rank) throws Exception;
    }

    private RankThreads() {
    }

    public static <T> List<T> run(int size, Body<T> body, BiConsumer<Integer, Throwable> abort) {
        Object[] results = new Object[size];
        Throwable[] failures = new Throwable[size];
        Thread[] threads = new Thread[size];
        for (int r = 0; r < size; r++) {
            int rank = r;
            threads[r] = new Thread(() -> {
                try {
                    results[rank] = body.run(rank);
                } catch (Throwable t) {
                    failures[rank] = t;
                    abort.accept(rank, t);
                }
            }, "rank-" + r);
            // A rank stuck in a driver call must not keep the JVM alive once its caller has given up on it.
            threads[r].setDaemon(true);
            threads[r].start();
        }
        for (Thread t : threads) {
            try {
                t.join();
            } catch (InterruptedException e) {
                abort.accept(-1, e);
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
