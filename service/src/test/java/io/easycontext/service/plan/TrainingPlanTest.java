package io.easycontext.service.plan;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.OptionalLong;

import io.easycontext.runtime.optim.zero.OffloadMode;
import io.easycontext.runtime.optim.zero.Sharding;
import io.easycontext.runtime.parallel.ParallelMode;
import io.easycontext.runtime.plan.MemoryOptions;
import io.easycontext.runtime.plan.MemoryPlanner;
import io.easycontext.runtime.spec.TrainSpec;
import io.easycontext.runtime.spec.TrainStage;
import io.easycontext.runtime.spec.Violation;
import org.junit.jupiter.api.Test;

/** The pool a rank of a training may fill and the planner's verdict on each of its runs (TrainingMemoryTest words them). */
class TrainingPlanTest {

    private static final OptionalLong H100 = OptionalLong.of(80L << 30);
    private static final long HOST = 112L << 30;

    @Test
    void thePoolIsTheGpuLessTheReserveOrTheSpecsCapWhereSmallerAndUnknownWithoutEither() {
        TrainSpec uncapped = TrainSpec.builder().devices("cuda:0").build();
        TrainSpec capped = TrainSpec.builder().devices("cuda:0").gpuMemoryGib(40).build();

        assertThat(TrainingPlan.pool(uncapped, H100)).contains(new TrainingPlan.Pool(78L << 30,
                "80.00 GiB per GPU less 2 GiB for CUDA, cuBLAS and NCCL"));
        assertThat(TrainingPlan.pool(capped, H100)).contains(new TrainingPlan.Pool(40L << 30,
                "the spec's gpuMemoryGib"));
        assertThat(TrainingPlan.pool(capped, OptionalLong.empty())).contains(new TrainingPlan.Pool(40L << 30,
                "the spec's gpuMemoryGib"));
        assertThat(TrainingPlan.pool(uncapped, OptionalLong.empty())).isEmpty();
    }

    @Test
    void aCapAboveTheGpusMemoryIsAViolationOfTheField() {
        assertThat(TrainingPlan.capViolation(TrainSpec.builder().devices("cuda:0").gpuMemoryGib(90).build(), H100))
                .contains(new Violation("train.gpuMemoryGib",
                        "must be at most 80.00, the memory of this node's GPUs in GiB, not 90"));
        assertThat(TrainingPlan.capViolation(TrainSpec.builder().devices("cuda:0").gpuMemoryGib(90).build(),
                OptionalLong.empty())).isEmpty();
    }

    /**
     * parallelMode auto on this node: the fastest mode whose memory fits the pool, as train --parallel-mode auto
     * chooses. Llama-2-7B at 128K over two GPUs under ZeRO-1 peaks at 87.36 GiB a rank with Ulysses (its head-sharded
     * copies) and 87.11 with the zigzag ring; each stage is resolved on its own sequence.
     */
    @Test
    void autoModeIsTheFastestThatFitsThePool() {
        TrainSpec auto = TrainSpec.builder().model("llama2-7b").devices("cuda:0,1").parallelMode(ParallelMode.AUTO)
                .seqLength(131072).zeroStage(1).build();
        long gib = 1L << 30;

        assertThat(TrainingPlan.resolved(auto, new TrainingPlan.Pool(100 * gib, "test"), HOST).parallelMode())
                .isEqualTo(ParallelMode.ULYSSES_ATTN);
        TrainSpec tight = TrainingPlan.resolved(auto, new TrainingPlan.Pool((long) (87.2 * gib), "test"), HOST);
        assertThat(tight.parallelMode()).isEqualTo(ParallelMode.ZIGZAG_RING_ATTN);
        assertThat(tight.devices()).isEqualTo("cuda:0,1");
        // Where nothing fits as given, the fastest, whose shortfall the verdict then states.
        assertThat(TrainingPlan.runs(auto, new TrainingPlan.Pool(60 * gib, "test"), HOST)).singleElement()
                .satisfies(r -> {
                    assertThat(r.config().parallel().mode()).isEqualTo(ParallelMode.ULYSSES_ATTN);
                    assertThat(r.fit().fits()).isFalse();
                });
    }

    @Test
    void eachStageIsPlannedOnItsOwnSequenceWithTheChoiceAutoMemoryWouldMake() {
        TrainSpec staged = TrainSpec.builder().model("llama2-7b").devices("cuda:0,1")
                .parallelMode(ParallelMode.ZIGZAG_RING_ATTN)
                .stages(List.of(new TrainStage(4096, null, null, null, null, null, null),
                        new TrainStage(262144, null, null, null, null, null, null)))
                .build();
        TrainingPlan.Pool pool = TrainingPlan.pool(staged, H100).orElseThrow();

        List<TrainingPlan.Run> runs = TrainingPlan.runs(staged, pool, HOST);

        assertThat(runs).extracting(TrainingPlan.Run::field).containsExactly("train.stages[0]", "train.stages[1]");
        assertThat(runs).extracting(r -> r.config().seqLength()).containsExactly(4096, 262144);
        for (TrainingPlan.Run run : runs) {
            assertThat(run.fit().asGiven()).isEqualTo(MemoryPlanner.estimate(run.config()));
            assertThat(run.fit().deviceBytes()).isEqualTo(78L << 30);
            assertThat(run.fit().fits()).isFalse();
            assertThat(run.fit().choice()).isEqualTo(MemoryPlanner.choose(run.config(), 78L << 30, HOST));
        }
        // The 7B's replicated state alone outgrows a GPU; sharding it over the two ranks is the cheapest way out,
        // which leaves room to keep every layer's attention at 4K tokens.
        assertThat(runs.get(0).fit().choice()).hasValueSatisfying(c ->
                assertThat(c.options()).isEqualTo(new MemoryOptions(new Sharding(1, OffloadMode.NONE), 0, 32)));
        assertThat(TrainingPlan.remedy(runs.get(0).fit(), HOST))
                .startsWith("the weights, gradients and optimizer state alone take ")
                .endsWith("; these options fit: zeroStage 1, optimizerOffload none, offloadCheckpoints 0, "
                        + "keptAttentionLayers 32, or autoMemory: true");
    }
}
