package io.easycontext.runtime.profile;

import io.easycontext.runtime.cuda.CudaEvent;
import io.easycontext.runtime.cuda.CudaStream;

import java.util.ArrayList;
import java.util.List;

/**
 * GPU time of each call: a timing event recorded on the backend's compute stream before the call and one after,
 * their interval read only when {@link #millis} is asked, after one wait for the last of them. An op's time is thus
 * what the stream spent between its first and last work, not the host's time to queue it; a wait for another stream
 * (communication) is queued between ops, so it falls outside every op.
 */
final class CudaEventClock implements OpClock {
    private final CudaStream stream;
    /** Events {@code 2i} and {@code 2i + 1} bracket span {@code i}: made when first needed, reused every step. */
    private final List<CudaEvent> events = new ArrayList<>();

    CudaEventClock(CudaStream stream) {
        this.stream = stream;
    }

    private CudaEvent event(int i) {
        while (events.size() <= i) {
            events.add(CudaEvent.forTiming());
        }
        return events.get(i);
    }

    @Override
    public void start(int span) {
        event(2 * span).record(stream);
    }

    @Override
    public void stop(int span) {
        event(2 * span + 1).record(stream);
    }

    @Override
    public double[] millis(int count) {
        double[] ms = new double[count];
        if (count == 0) {
            return ms;
        }
        // One stream: once the last event has passed, so has every earlier one.
        event(2 * count - 1).synchronize();
        for (int i = 0; i < count; i++) {
            ms[i] = event(2 * i + 1).millisSince(event(2 * i));
        }
        return ms;
    }

    @Override
    public void close() {
        for (CudaEvent e : events) {
            e.close();
        }
        events.clear();
    }
}
