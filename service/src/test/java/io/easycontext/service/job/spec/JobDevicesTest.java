package io.easycontext.service.job.spec;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import io.easycontext.runtime.parallel.ParallelMode;
import io.easycontext.runtime.spec.PerplexityEvalSpec;
import io.easycontext.runtime.spec.TrainSpec;
import io.easycontext.runtime.spec.TrainStage;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

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

    /**
     * autoMemory goes with the job to its GPUs, and is cleared for the runtime's checks on CPU ranks, which refuse it:
     * what it chooses is the node's to check, from the spec as submitted.
     */
    @Test
    void autoMemoryGoesToTheGpusAndIsLeftToTheNodeOnCpuRanks() {
        TrainSpec queued = staged.devices("cuda:0,1").autoMemory(true).build();

        assertThat(JobDevices.onGpus(queued, List.of(3, 4))).isEqualTo(staged.devices("cuda:3,4").build());
        assertThat(JobDevices.withoutGpus(queued)).isEqualTo(staged.devices("cpu:2").autoMemory(false).build());
        assertThat(((TrainSpec) JobDevices.withoutGpus(queued)).validate()).isEmpty();
    }

    /** The API's JSON: the field by its name, false where left out. */
    @Test
    void autoMemoryRoundTripsThroughJson() {
        JsonMapper json = new JsonMapper();
        TrainSpec auto = TrainSpec.builder().devices("cuda:0").autoMemory(true).build();

        String written = json.writeValueAsString(auto);
        assertThat(written).contains("\"autoMemory\":true");
        assertThat(json.readValue(written, TrainSpec.class)).isEqualTo(auto);
        assertThat(json.readValue("{\"devices\": \"cuda:0\", \"autoMemory\": true}", TrainSpec.class))
                .isEqualTo(auto);
        assertThat(json.readValue("{}", TrainSpec.class).autoMemory()).isFalse();
    }
}
