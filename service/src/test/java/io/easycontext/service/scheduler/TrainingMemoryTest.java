package io.easycontext.service.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;

import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.model.LlamaModel;
import io.easycontext.runtime.parallel.ParallelMode;
import io.easycontext.runtime.plan.MemoryEstimate;
import io.easycontext.runtime.plan.MemoryPlanner;
import io.easycontext.runtime.spec.TrainSpec;
import io.easycontext.runtime.spec.TrainStage;
import io.easycontext.runtime.spec.Violation;
import org.junit.jupiter.api.Test;

/** The memory planner's verdict on a training, against the node's GPUs and the spec's own cap. */
class TrainingMemoryTest {

    private static final OptionalLong H100 = OptionalLong.of(80L << 30);
    /** A 128 GiB host less its reserve, as in the runtime's headline. */
    private static final long HOST = 112L << 30;
    private static final double GIB = 1L << 30;

    @Test
    void aTrainingThatFitsItsGpusIsAccepted() {
        TrainSpec tiny = TrainSpec.builder().devices("cuda:0,1").parallelMode(ParallelMode.ZIGZAG_RING_ATTN)
                .seqLength(4096).build();

        assertThat(TrainingMemory.check(tiny, H100, HOST)).isEmpty();
    }

    @Test
    void aModelWhoseStateAloneCannotFitIsRefusedWithThePlannersPeakAndThePoolOfARank() {
        TrainSpec llama = TrainSpec.builder().model("llama2-7b").devices("cuda:0").seqLength(4096).build();
        LlamaModel.Options chunks = LlamaModel.Options.DEFAULTS;
        MemoryEstimate peak = MemoryPlanner.estimate(LlamaConfig.preset("llama2-7b"), 4096,
                ParallelMode.DATA_PARALLEL, 1, chunks.lossChunkTokens(), chunks.mlpChunkTokens());
        long state = peak.parameters() + peak.gradients() + peak.masterWeights() + peak.optimizerMoments();

        assertThat(TrainingMemory.check(llama, H100, HOST)).containsExactly(new Violation("train", String.format(Locale.ROOT,
                "does not fit the GPUs: needs %.2f GiB per GPU at seqLength 4096 with data_parallel (world 1 = dp 1 "
                        + "× ulysses 1 × ring 1), 78.00 GiB available (80.00 GiB per GPU less 2 GiB for CUDA, cuBLAS "
                        + "and NCCL); the weights, gradients and optimizer state alone take %.2f GiB; these options "
                        + "fit: zeroStage 1, optimizerOffload gpu_stream, offloadCheckpoints 0, keptAttentionLayers "
                        + "32, or autoMemory: true",
                peak.total() / GIB, state / GIB)));
    }

    /**
     * bf16 AdamW moments ({@code optimizerMoments}) take 4 bytes a parameter off a rank's predicted peak: Llama-2-7B
     * replicated on one GPU at 32K tokens needs 25.10 GiB less (the JSON the verdict is computed from keeps the field).
     */
    @Test
    void bf16OptimizerMomentsAreCountedAtTwoBytesEach() {
        TrainSpec.Builder llama = TrainSpec.builder().model("llama2-7b").devices("cuda:0").seqLength(32768);
        long parameters = LlamaConfig.preset("llama2-7b").parameterCount();
        List<Violation> fp32 = TrainingMemory.check(llama.build(), H100, HOST);
        List<Violation> bf16 = TrainingMemory.check(llama.optimizerMoments("bf16").build(), H100, HOST);

        assertThat(fp32).hasSize(1);
        assertThat(bf16).hasSize(1);
        assertThat(neededGib(fp32.get(0).message()) - neededGib(bf16.get(0).message()))
                .isCloseTo(4.0 * parameters / GIB, within(0.011));
    }

    private static double neededGib(String message) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("needs ([0-9.]+) GiB per GPU").matcher(message);
        assertThat(m.find()).as(message).isTrue();
        return Double.parseDouble(m.group(1));
    }

    /** The runtime's headline for one 80 GB GPU: 7B at 256K tokens, its state and its checkpoints in host memory. */
    @Test
    void parkedCheckpointsAndOffloadedStateMakeRoomFor256KTokensOfSevenBOnOneGpu() {
        TrainSpec.Builder longContext = TrainSpec.builder().model("llama2-7b").devices("cuda:0").seqLength(262144)
                .zeroStage(1).optimizerOffload("gpu_stream");

        assertThat(TrainingMemory.check(longContext.build(), H100, HOST)).singleElement()
                .satisfies(v -> assertThat(v.message()).startsWith("does not fit the GPUs: needs 113.40 GiB per GPU"));
        assertThat(TrainingMemory.check(longContext.offloadCheckpoints(32).build(), H100, HOST)).isEmpty();
    }

    /**
     * The request this field is for: 7B at 256K tokens on one 80 GB GPU, which the options as given cannot fit and
     * autoMemory can, with bf16 moments in a 112 GiB host (fp32 moments outgrow it under every option).
     */
    @Test
    void withAutoMemoryOnlyARunThatNoOptionFitsIsRefused() {
        TrainSpec.Builder longContext = TrainSpec.builder().model("llama2-7b").devices("cuda:0").seqLength(262144)
                .optimizerMoments("bf16");

        assertThat(TrainingMemory.check(longContext.build(), H100, HOST)).singleElement().satisfies(v ->
                assertThat(v.message()).contains(" 78.00 GiB available (80.00 GiB per GPU less 2 GiB for CUDA, "
                        + "cuBLAS and NCCL); ").endsWith("; these options fit: zeroStage 1, optimizerOffload "
                        + "gpu_stream, offloadCheckpoints 21, keptAttentionLayers 1, or autoMemory: true"));
        assertThat(TrainingMemory.check(longContext.autoMemory(true).build(), H100, HOST)).isEmpty();

        assertThat(TrainingMemory.check(longContext.optimizerMoments("fp32").build(), H100, HOST)).singleElement()
                .satisfies(v -> {
                    assertThat(v.field()).isEqualTo("train");
                    assertThat(v.message()).startsWith("does not fit the GPUs: needs ").contains(" GiB per GPU at "
                            + "seqLength 262144 with data_parallel (world 1 = dp 1 × ulysses 1 × ring 1), 78.00 GiB "
                            + "available (").endsWith("; no sharding or offload makes it fit: more GPUs sharing each "
                            + "sequence, or a shorter seqLength (or, where bf16 AdamW moments are acceptable, "
                            + "optimizerMoments bf16) (what autoMemory offloads may take 112.00 GiB of host memory)");
                });
    }

    @Test
    void theStageThatDoesNotFitIsNamed() {
        // 2^26 tokens over a ring of 2: each rank holds 2^25, whose checkpoints and activations outgrow 78 GiB.
        TrainSpec staged = TrainSpec.builder().model("small").devices("cuda:0,1")
                .parallelMode(ParallelMode.ZIGZAG_RING_ATTN)
                .stages(List.of(new TrainStage(4096, null, null, null, null, null, null),
                        new TrainStage(1 << 26, 1e7, null, null, null, null, null)))
                .build();

        assertThat(TrainingMemory.check(staged, H100, HOST)).singleElement().satisfies(v -> {
            assertThat(v.field()).isEqualTo("train.stages[1]");
            assertThat(v.message()).startsWith("does not fit the GPUs: needs ")
                    .contains(" at seqLength 67108864 with zigzag_ring_attn (world 2 = dp 1 × ulysses 1 × ring 2), "
                            + "78.00 GiB available (")
                    .endsWith(" GiB of it grows with the 33,554,432 tokens per rank, which more GPUs sharing each "
                            + "sequence or a shorter seqLength would reduce");
        });
    }

    @Test
    void theSpecsCapIsThePoolWhereSmallerAndAllThereIsWhereTheGpusMemoryIsUnknown() {
        TrainSpec capped = TrainSpec.builder().model("small").devices("cuda:0,1")
                .parallelMode(ParallelMode.ZIGZAG_RING_ATTN).seqLength(1 << 20).gpuMemoryGib(1).build();
        TrainSpec uncapped = TrainSpec.builder().model("llama2-7b").devices("cuda:0").build();

        assertThat(TrainingMemory.check(capped, H100, HOST)).singleElement().satisfies(v ->
                assertThat(v.message()).contains(", 1.00 GiB available (the spec's gpuMemoryGib); "));
        assertThat(TrainingMemory.check(capped, OptionalLong.empty(), HOST)).singleElement().satisfies(v ->
                assertThat(v.message()).contains(", 1.00 GiB available (the spec's gpuMemoryGib); "));
        assertThat(TrainingMemory.check(uncapped, OptionalLong.empty(), HOST)).isEmpty();
    }

    @Test
    void aCapAboveTheGpusMemoryIsRefusedAsTheRuntimeWouldRefuseIt() {
        TrainSpec capped = TrainSpec.builder().devices("cuda:0").gpuMemoryGib(90).build();

        assertThat(TrainingMemory.check(capped, H100, HOST)).containsExactly(new Violation("train.gpuMemoryGib",
                "must be at most 80.00, the memory of this node's GPUs in GiB, not 90"));
    }
}
