package io.easycontext.service.execution;

/**
 * An evaluation stopped between two units of its work (cells, lengths) because its cancellation asked; a training
 * stops with the runtime's own {@link io.easycontext.runtime.train.TrainingCancelledException}.
 */
public class JobCancelledException extends RuntimeException {

    private final String done;

    /** @param done what was finished before the stop, e.g. {@code 3 of 12 cells} */
    public JobCancelledException(String done) {
        super("cancelled after " + done);
        this.done = done;
    }

    public String done() {
        return done;
    }
}
