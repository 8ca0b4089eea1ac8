package io.easycontext.runtime.profile;

/**
 * Times the spans of an {@link OpProfile}: span {@code i} is the {@code i}-th timed call since the profile was last
 * reset. Spans start and stop in order, one at a time, on the backend's thread; numbers start again from 0 after a
 * reset, so a clock can reuse whatever it keeps per span.
 */
interface OpClock extends AutoCloseable {

    void start(int span);

    void stop(int span);

    /** Milliseconds of spans 0 to {@code count − 1}, waiting for them where they run asynchronously. */
    double[] millis(int count);

    @Override
    void close();
}
