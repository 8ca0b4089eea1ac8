package io.easycontext.service.execution;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.BDDMockito.given;
import static org.mockito.Mockito.mock;

import java.util.List;
import java.util.UUID;

import io.easycontext.runtime.cuda.CudaDevice;
import io.easycontext.runtime.cuda.OutOfDeviceMemoryException;
import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.model.ModelFlops;
import io.easycontext.runtime.train.TrainingCancelledException;
import io.easycontext.service.job.JobReason;
import io.easycontext.service.job.JobState;
import io.easycontext.service.scheduler.Allocation;
import org.junit.jupiter.api.Test;

/** How an attempt's end becomes the job's state and reason. */
class OutcomeTest {

    private final RunningJob job = new RunningJob(UUID.randomUUID(), new Allocation(List.of()));

    @Test
    void aCancelledRunIsCancelledByTheUserUnlessTheServiceIsStopping() {
        assertThat(Outcome.of(new TrainingCancelledException(3), job))
                .isEqualTo(new Outcome(JobState.CANCELLED, JobReason.USER_CANCELLED,
                        "cancelled after 3 step(s) of the stage it was in"));

        assertThat(Outcome.of(new JobCancelledException("3 of 12 cells"), job))
                .isEqualTo(new Outcome(JobState.CANCELLED, JobReason.USER_CANCELLED, "cancelled after 3 of 12 cells"));

        job.stopForShutdown();
        assertThat(Outcome.of(new TrainingCancelledException(3), job).requeue()).isTrue();
        assertThat(Outcome.of(new JobCancelledException("3 of 12 cells"), job).requeue()).isTrue();
    }

    @Test
    void failuresAreSortedIntoTheirReasonsThroughWrappingExceptions() {
        assertThat(Outcome.of(new IllegalStateException("rank 1", new OutOfMemoryError("Java heap space")), job)
                .reason()).isEqualTo(JobReason.OUT_OF_MEMORY);
        assertThat(Outcome.of(new ArithmeticException("gradient norm is NaN at step 2"), job))
                .isEqualTo(new Outcome(JobState.FAILED, JobReason.NAN_LOSS, "gradient norm is NaN at step 2"));
        assertThat(Outcome.of(new JobFailedException(JobReason.INVALID_MODEL, "no config.json"), job))
                .isEqualTo(new Outcome(JobState.FAILED, JobReason.INVALID_MODEL, "no config.json"));
        assertThat(Outcome.of(new IllegalStateException("boom"), job))
                .isEqualTo(new Outcome(JobState.FAILED, JobReason.INTERNAL, "IllegalStateException: boom"));
    }

    @Test
    void aGpuOutOfMemoryOnAnyRankIsOutOfMemoryNamingTheGpuAndTheBytes() {
        // The exception's message is the runtime's; only the device it names is made up, as there is none here.
        CudaDevice gpu = mock(CudaDevice.class);
        given(gpu.toString()).willReturn("cuda:3 NVIDIA H100 80GB HBM3 (sm_90)");
        given(gpu.totalMemory()).willReturn(80L << 30);
        OutOfDeviceMemoryException oom = new OutOfDeviceMemoryException(2L << 30, 77L << 30, 77L << 30, 78L << 30, gpu);

        assertThat(Outcome.of(new IllegalStateException("rank 1 failed", oom), job)).isEqualTo(new Outcome(
                JobState.FAILED, JobReason.OUT_OF_MEMORY, "OutOfDeviceMemoryException: out of GPU memory on cuda:3 "
                        + "NVIDIA H100 80GB HBM3 (sm_90): asked for 2.00 GiB with 77.00 GiB in use, 77.00 GiB "
                        + "reserved of a 78.00 GiB pool (device total 80.00 GiB)"));
    }

    @Test
    void modelFlopsCountSixPerParameterPlusCausalAttention() {
        LlamaConfig tiny = LlamaConfig.preset("tiny");
        double matmulParameters = tiny.parameterCount() - (double) tiny.vocabSize() * tiny.hiddenSize();

        assertThat(ModelFlops.perToken(tiny, 1024)).isEqualTo(6 * matmulParameters
                + 6.0 * tiny.numHiddenLayers() * tiny.qDim() * 1024);
    }
}
