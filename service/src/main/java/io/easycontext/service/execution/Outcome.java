package io.easycontext.service.execution;

import java.util.Locale;

import io.easycontext.runtime.cuda.OutOfDeviceMemoryException;
import io.easycontext.runtime.train.TrainingCancelledException;
import io.easycontext.service.job.JobReason;
import io.easycontext.service.job.JobState;

/**
 * How an attempt ended, decided from what the executor returned or threw.
 *
 * @param state the terminal state; null when the job goes back to the queue because the service is stopping
 */
record Outcome(JobState state, JobReason reason, String message) {

    static Outcome succeeded(String summary) {
        return new Outcome(JobState.SUCCEEDED, JobReason.COMPLETED, summary);
    }

    static Outcome requeued() {
        return new Outcome(null, JobReason.NODE_RESTART, "requeued: the service stopped while the job ran");
    }

    boolean requeue() {
        return state == null;
    }

    static Outcome of(Throwable failure, RunningJob job) {
        if (failure instanceof TrainingCancelledException training) {
            return cancelled(job, training.completedSteps() + " step(s) of the stage it was in");
        }
        if (failure instanceof JobCancelledException evaluation) {
            return cancelled(job, evaluation.done());
        }
        if (failure instanceof JobFailedException known) {
            return new Outcome(JobState.FAILED, known.reason(), known.getMessage());
        }
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof OutOfMemoryError || t instanceof OutOfDeviceMemoryException) {
                return new Outcome(JobState.FAILED, JobReason.OUT_OF_MEMORY, describe(t));
            }
            // The optimizer's refusal of a non-finite gradient norm: the loss diverged within the step.
            if (t instanceof ArithmeticException) {
                return new Outcome(JobState.FAILED, JobReason.NAN_LOSS, t.getMessage());
            }
        }
        return new Outcome(JobState.FAILED, JobReason.INTERNAL, describe(failure));
    }

    /** Stopped on request: by a client, or by the service stopping, which puts the job back in the queue. */
    private static Outcome cancelled(RunningJob job, String done) {
        return job.isShuttingDown()
                ? requeued()
                : new Outcome(JobState.CANCELLED, JobReason.USER_CANCELLED, "cancelled after " + done);
    }

    private static String describe(Throwable t) {
        String message = t.getMessage();
        return message == null || message.isBlank()
                ? t.getClass().getSimpleName()
                : String.format(Locale.ROOT, "%s: %s", t.getClass().getSimpleName(), message);
    }
}
