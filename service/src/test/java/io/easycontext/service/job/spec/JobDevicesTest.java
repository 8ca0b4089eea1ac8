package io.easycontext.service.job.spec;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import io.easycontext.runtime.parallel.ParallelMode;
import io.easycontext.runtime.spec.PerplexityEvalSpec;
import io.easycontext.runtime.spec.TrainSpec;
import io.easycontext.runtime.spec.TrainStage;
import org.junit.jupiter.api.Test;

/** Moving a spec between GPUs, and to CPU ranks for the runtime's checks, changes its devices and nothing else. */
class JobDevicesTest {

    private final TrainSpec.Builder staged = TrainSpec.builder().model("tiny").parallelMode(ParallelMode.ULYSSES_ATTN)
            .seqLength(128).learningRate(1e-3).gpuMemoryGib(40).seed(9L)
            .stages(List.of(new TrainStage(null, null, 2, null, null, null, null),
                    new TrainStage(256, 1e5, 3, null, null, ParallelMode.ZIGZAG_RING_ATTN, 1)));

    @Test
    void aStartedJobRunsOnItsGpusInTheirOrderWithEveryOtherFieldAsItWas() {
        TrainSpec queued = staged.devices("cuda:0,1").build();

        assertThat(JobDevices.onGpus(queued, List.of(5, 2))).isEqualTo(staged.devices("cuda:5,2").build());
        assertThat(JobDevices.onGpus(queued, List.of())).isSameAs(queued);
    }

    @Test
    void theRuntimeChecksAGpuSpecAsOneOnAsManyCpuRanks() {
        PerplexityEvalSpec onGpus = PerplexityEvalSpec.builder().model("small").devices("cuda:4-7").build();

        assertThat(JobDevices.withoutGpus(onGpus))
                .isEqualTo(PerplexityEvalSpec.builder().model("small").devices("cpu:4")
                        .parallelMode(onGpus.parallelMode()).build());
        TrainSpec cpu = staged.devices("cpu:2").build();
        assertThat(JobDevices.withoutGpus(cpu)).isSameAs(cpu);
    }
}
