package io.easycontext.service.execution;

import io.easycontext.service.job.JobReason;

/** A failure whose reason is known, e.g. {@link JobReason#NAN_LOSS}; its message becomes the job's. */
public class JobFailedException extends RuntimeException {

    private final JobReason reason;

    public JobFailedException(JobReason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public JobFailedException(JobReason reason, String message) {
        this(reason, message, null);
    }

    public JobReason reason() {
        return reason;
    }
}
