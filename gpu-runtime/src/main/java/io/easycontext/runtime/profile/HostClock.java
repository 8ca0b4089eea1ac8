package io.easycontext.runtime.profile;

import java.util.Arrays;

/**
 * Host time around each call: the op's time where the backend computes on the calling thread (the CPU backend); for
 * an asynchronous backend it would be only the time to queue the work.
 */
final class HostClock implements OpClock {
    private long[] starts = new long[1024];
    private long[] stops = new long[1024];

    @Override
    public void start(int span) {
        if (span >= starts.length) {
            starts = Arrays.copyOf(starts, Math.max(span + 1, 2 * starts.length));
            stops = Arrays.copyOf(stops, starts.length);
        }
        starts[span] = System.nanoTime();
    }

    @Override
    public void stop(int span) {
        stops[span] = System.nanoTime();
    }

    @Override
    public double[] millis(int count) {
        double[] ms = new double[count];
        for (int i = 0; i < count; i++) {
            ms[i] = (stops[i] - starts[i]) / 1e6;
        }
        return ms;
    }

    @Override
    public void close() {
    }
}
