package io.easycontext.runtime.parallel;

/** A parallel configuration that cannot work; the message names the constraint and the numbers. */
public final class ParallelConfigException extends IllegalArgumentException {
    public ParallelConfigException(String message) {
        super(message);
    }
}
