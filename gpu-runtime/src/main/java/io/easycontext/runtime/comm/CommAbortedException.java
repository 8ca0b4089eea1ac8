package io.easycontext.runtime.comm;

/**
 * A collective could not complete because another rank of the same world failed, or a rendezvous timed out.
 * Thrown on every rank still waiting, so that no thread hangs after one of its peers died.
 */
public final class CommAbortedException extends RuntimeException {
    public CommAbortedException(String message, Throwable cause) {
        super(message, cause);
    }
}
