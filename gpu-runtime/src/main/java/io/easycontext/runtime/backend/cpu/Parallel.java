package io.easycontext.runtime.backend.cpu;

import java.util.stream.IntStream;

/**
 * Splits an op's independent items (rows, heads, tokens) over the common fork-join pool, through parallel
 * streams. The common pool, not a pool per backend, because several simulated ranks run ops at once and must
 * share the cores rather than oversubscribe them. Each item is written by exactly one task in a fixed order
 * and the chunking ignores the thread count, so results are the same on any machine.
 */
final class Parallel {

    /** Below this many multiply-adds an op runs on the calling thread: a fork-join round trip costs microseconds. */
    static final long GRAIN = 1L << 15;

    /**
     * At most this many chunks: enough for uneven items (causal attention rows) to balance over a few dozen
     * threads, and a constant, so that a parallel sum adds the same partials in the same order on any machine.
     */
    private static final int MAX_CHUNKS = 64;

    @FunctionalInterface
    interface RangeBody {
        void run(int from, int to);
    }

    private Parallel() {
    }

    /** Runs {@code body} over {@code [0, n)} in contiguous chunks; {@code workPerItem} is in multiply-adds. */
    static void forRange(int n, long workPerItem, RangeBody body) {
        int chunks = chunks(n, workPerItem);
        if (chunks <= 1) {
            body.run(0, n);
            return;
        }
        IntStream.range(0, chunks).parallel().forEach(c -> body.run(bound(n, chunks, c), bound(n, chunks, c + 1)));
    }

    /** Sums {@code body(from, to)} over chunks of {@code [0, n)}, adding the partial sums in chunk order. */
    static double sum(int n, long workPerItem, RangeSum body) {
        int chunks = chunks(n, workPerItem);
        if (chunks <= 1) {
            return body.sum(0, n);
        }
        double[] partial = new double[chunks];
        IntStream.range(0, chunks).parallel()
                .forEach(c -> partial[c] = body.sum(bound(n, chunks, c), bound(n, chunks, c + 1)));
        double total = 0;
        for (double p : partial) {
            total += p;
        }
        return total;
    }

    @FunctionalInterface
    interface RangeSum {
        double sum(int from, int to);
    }

    private static int chunks(int n, long workPerItem) {
        long work = (long) n * Math.max(1, workPerItem);
        return (int) Math.min(n, Math.min(work / GRAIN, MAX_CHUNKS));
    }

    private static int bound(int n, int chunks, int c) {
        return (int) ((long) n * c / chunks);
    }
}
