package io.easycontext.runtime.cuda;

/** A device allocation that does not fit: the message gives what was asked, held, reserved and allowed. */
public final class OutOfDeviceMemoryException extends RuntimeException {
    private final long requested;

    public OutOfDeviceMemoryException(long requested, long inUse, long reserved, long capacity, CudaDevice device) {
        super(String.format("out of GPU memory on %s: asked for %s with %s in use, %s reserved of a %s pool "
                        + "(device total %s)", device, gib(requested), gib(inUse), gib(reserved), gib(capacity),
                gib(device.totalMemory())));
        this.requested = requested;
    }

    public long requested() {
        return requested;
    }

    static String gib(long bytes) {
        return String.format("%.2f GiB", bytes / (double) (1L << 30));
    }
}
