package io.easycontext.service.execution;

import io.easycontext.service.job.JobKind;

/**
 * Runs the jobs of one kind through the runtime's Java API, on the runner's thread. One bean per kind; a kind
 * without one is refused at submission.
 */
public interface JobExecutor {

    JobKind kind();

    /** Whether the executor can use GPUs the scheduler gives it; false means it runs on the CPU backend only. */
    boolean runsOnGpus();

    /**
     * Does the job's work, stopping at a step (or cell, or length) boundary when {@link JobExecution#cancellation()}
     * asks. An attempt after the first goes on from what the earlier ones left in the job's directory, if it can.
     *
     * @return one line for the job's message when it succeeds, e.g. {@code 30 steps in 2 stages; final loss 2.31}
     * @throws io.easycontext.runtime.train.TrainingCancelledException or {@link JobCancelledException} when it
     *     stopped on request
     * @throws JobFailedException for a failure with a known reason; anything else fails the job as INTERNAL
     */
    String execute(JobExecution execution) throws Exception;
}
