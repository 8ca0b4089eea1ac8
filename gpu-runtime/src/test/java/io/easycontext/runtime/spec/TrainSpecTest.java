package io.easycontext.runtime.spec;

import io.easycontext.runtime.optim.OptimizerMoments;
import io.easycontext.runtime.optim.zero.OffloadMode;
import io.easycontext.runtime.optim.zero.Sharding;
import io.easycontext.runtime.parallel.ParallelMode;
import io.easycontext.runtime.train.TrainConfig;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TrainSpecTest {

    @Test
    void leftOutFieldsTakeTheCliDefaults() {
        TrainSpec spec = TrainSpec.builder().build();

        assertThat(spec.validate()).isEmpty();
        assertThat(spec).isEqualTo(new TrainSpec("tiny", "cpu:1", ParallelMode.DATA_PARALLEL, null, null, null, 64,
                null, 1, 1, 2e-5, 0, 0.0, 1.0, 10, 2022L, "f32", 0, true, "synthetic", 0, 0, "none", "fp32", 0, 0,
                false, List.of()));
    }

    @Test
    void everyBadFieldIsNamedWithItsConstraint() {
        TrainSpec spec = TrainSpec.builder().model("gpt2").devices("tpu:0").seqLength(0).batchSize(0)
                .learningRate(-1.0).ropeTheta(1.0).dtype("bf16").dataset("pile").build();

        assertThat(spec.validate()).containsExactlyInAnyOrder(
                new Violation("model", "'gpt2' is neither a preset [tiny, tiny-mha, small, llama2-7b, llama3-8b] "
                        + "nor a directory with a config.json"),
                new Violation("devices", "must be cpu:N (N simulated ranks on the CPU backend) or cuda:K, cuda:0,1, cuda:0-3 (GPUs, one rank each), not 'tpu:0'"),
                new Violation("seqLength", "must be greater than or equal to 1"),
                new Violation("batchSize", "must be greater than or equal to 1"),
                new Violation("learningRate", "must be greater than or equal to 0"),
                new Violation("ropeTheta", "must be greater than 1"),
                new Violation("dtype", "must be f32 or f64, not 'bf16'"),
                new Violation("dataset", "must be one of [synthetic] or an existing path, not 'pile'"));
    }

    /**
     * auto: the first mode the model and length allow (ModeChoice); the tiny model's 2 key/value heads split over 2
     * ranks (Ulysses) and a Ulysses pair × a ring of 2 over 4; 32 tokens over 3 ranks fit no mode.
     */
    @Test
    void autoTakesTheFirstModeTheModelAndLengthAllow() {
        TrainSpec two = TrainSpec.builder().devices("cpu:2").parallelMode(ParallelMode.AUTO).seqLength(32).build();
        TrainSpec four = TrainSpec.builder().devices("cpu:4").parallelMode(ParallelMode.AUTO).seqLength(32).build();
        assertThat(two.validate()).isEmpty();
        assertThat(two.toTrainConfig().parallel().toString()).isEqualTo("ulysses_attn (world 2 = dp 1 × ulysses 2 × ring 1)");
        assertThat(four.toTrainConfig().parallel().toString()).isEqualTo("usp_attn (world 4 = dp 1 × ulysses 2 × ring 2)");
        assertThat(TrainSpec.builder().devices("cpu:3").parallelMode(ParallelMode.AUTO).seqLength(32).build().validate())
                .containsExactly(new Violation("parallelMode", "auto finds no mode that spreads 32 tokens over 3 ranks "
                        + "for this model (the ring modes need seq_length divisible by the ranks, zigzag by twice that; "
                        + "Ulysses the key/value heads by its degree)"));
        assertThat(TrainSpec.builder().devices("cpu:2").parallelMode(ParallelMode.AUTO).ringDegree(2).build().validate())
                .containsExactly(new Violation("parallelMode", "auto chooses the Ulysses and ring degrees of one "
                        + "sequence over all ranks; give either it or them"));
    }

    @Test
    void theParallelLayoutIsCheckedAgainstTheModelAndTheSequence() {
        TrainSpec spec = TrainSpec.builder().devices("cpu:4").parallelMode(ParallelMode.ZIGZAG_RING_ATTN)
                .seqLength(30).build();

        assertThat(spec.validate()).containsExactly(new Violation("parallelMode",
                "zigzag_ring_attn needs seq_length divisible by 2 × ring size (2×4=8): 30 is not"));
    }

    @Test
    void stagesInheritWhatTheyLeaveOutAndAreCheckedOneByOne() {
        TrainSpec spec = TrainSpec.builder().devices("cpu:2").parallelMode(ParallelMode.RING_ATTN).seqLength(32)
                .maxTrainSteps(3).stages(List.of(
                        new TrainStage(null, null, null, null, null, null, null),
                        new TrainStage(63, 1e6, 5, 1e-4, null, ParallelMode.ZIGZAG_RING_ATTN, null),
                        new TrainStage(0, null, null, null, null, null, null)))
                .build();

        assertThat(spec.validate()).containsExactly(
                new Violation("stages[2].seqLength", "must be greater than or equal to 1"));
        assertThat(spec.totalSteps()).isEqualTo(3 + 5 + 3);
        TrainSpec second = spec.runs().get(1);
        assertThat(second.seqLength()).isEqualTo(63);
        assertThat(second.ropeTheta()).isEqualTo(1e6);
        assertThat(second.learningRate()).isEqualTo(1e-4);
        assertThat(second.devices()).isEqualTo("cpu:2");
        assertThat(second.stages()).isEmpty();
    }

    @Test
    void aStageWhoseSequenceDoesNotSplitIsNamedByItsIndex() {
        TrainSpec spec = TrainSpec.builder().devices("cpu:2").parallelMode(ParallelMode.RING_ATTN).seqLength(32)
                .stages(List.of(new TrainStage(null, null, null, null, null, null, null),
                        new TrainStage(63, null, null, null, null, null, null)))
                .build();

        assertThat(spec.validate()).containsExactly(new Violation("stages[1].parallelMode",
                "ring_attn needs seq_length divisible by the sequence-parallel size (2): 63 is not"));
    }

    @Test
    void theCommandLineNamesEveryFieldAsItsFlag() {
        TrainSpec spec = TrainSpec.builder().devices("cpu:2").parallelMode(ParallelMode.USP_ATTN).ulyssesDegree(2)
                .seqLength(32).build();

        assertThat(CommandLine.render(spec.commandLines().get(0))).isEqualTo("train --model tiny --devices cpu:2 "
                + "--parallel-mode usp_attn --ulysses-degree 2 --seq-length 32 --batch-size 1 "
                + "--gradient-accumulate-every 1 --learning-rate 2.0E-5 --warmup-steps 0 --weight-decay 0.0 "
                + "--max-grad-norm 1.0 --max-train-steps 10 --seed 2022 --dtype f32 --activation-checkpointing true "
                + "--dataset synthetic --checkpoint-every 0 --output-dir checkpoints/stage-0");
    }

    @Test
    void eachStageWritesItsOwnOutputDirectoryAndMayCheckpointAtItsOwnInterval() {
        TrainSpec spec = TrainSpec.builder().checkpointEvery(5).stages(List.of(
                new TrainStage(null, null, null, null, null, null, null),
                new TrainStage(128, null, null, null, null, null, 2))).build();

        assertThat(spec.validate()).isEmpty();
        assertThat(spec.runs()).extracting(TrainSpec::checkpointEvery).containsExactly(5, 2);
        assertThat(spec.commandLines()).extracting(args -> String.join(" ", args.subList(args.size() - 4,
                args.size()))).containsExactly("--checkpoint-every 5 --output-dir checkpoints/stage-0",
                "--checkpoint-every 2 --output-dir checkpoints/stage-1");
        assertThat(TrainSpec.builder().checkpointEvery(-1).build().validate()).containsExactly(
                new Violation("checkpointEvery", "must be greater than or equal to 0"));
    }

    @Test
    void argumentsThatAShellWouldSplitAreQuoted() {
        assertThat(CommandLine.render(List.of("train", "--model", "/models/it's mine"))).isEqualTo(
                "train --model '/models/it'\\''s mine'");
    }

    @Test
    void aValidSpecBecomesTheTrainersConfig() {
        TrainConfig config = TrainSpec.builder().devices("cpu:2").parallelMode(ParallelMode.RING_ATTN).seqLength(128)
                .ropeTheta(5e5).dtype("F64").build().toTrainConfig();

        assertThat(config.parallel().worldSize()).isEqualTo(2);
        assertThat(config.model().ropeTheta()).isEqualTo(5e5);
        assertThat(config.model().maxPositionEmbeddings()).isEqualTo(2048);
        assertThat(config.dtype().name()).isEqualTo("F64");
    }

    @Test
    void theOptimizerShardingBecomesTheConfigsAndItsFlags() {
        TrainSpec spec = TrainSpec.builder().devices("cpu:2").zeroStage(1).optimizerOffload("GPU_STREAM").build();
        assertThat(spec.validate()).isEmpty();
        assertThat(spec.toTrainConfig().sharding()).isEqualTo(new Sharding(1, OffloadMode.GPU_STREAM));
        assertThat(String.join(" ", spec.commandLines().get(0))).contains("--zero-stage 1 --optimizer-offload gpu_stream");
        assertThat(String.join(" ", TrainSpec.builder().build().commandLines().get(0))).doesNotContain("zero-stage")
                .doesNotContain("optimizer-offload");
        assertThat(TrainSpec.builder().build().toTrainConfig().sharding()).isEqualTo(Sharding.REPLICATED);

        assertThat(TrainSpec.builder().zeroStage(4).optimizerOffload("disk").build().validate()).containsExactlyInAnyOrder(
                new Violation("zeroStage", "must be 0 (replicated optimizer state), 1 (optimizer state sharded), 2 "
                        + "(and gradients) or 3 (and parameters), not 4"),
                new Violation("optimizerOffload", "must be none, cpu or gpu_stream, not 'disk'"));
        assertThat(TrainSpec.builder().optimizerOffload("cpu").build().validate()).containsExactly(
                new Violation("optimizerOffload", "needs zeroStage 1, 2 or 3: only a sharded optimizer offloads its "
                        + "state"));
    }

    @Test
    void theOptimizerMomentsTypeBecomesTheConfigsAndItsFlagAndEveryStageKeepsIt() {
        TrainSpec spec = TrainSpec.builder().devices("cpu:2").zeroStage(1).optimizerMoments("BF16")
                .stages(List.of(new TrainStage(null, null, null, null, null, null, null),
                        new TrainStage(128, null, null, null, null, null, null)))
                .build();
        assertThat(spec.validate()).isEmpty();
        assertThat(spec.optimizerMoments()).isEqualTo("bf16");
        for (TrainSpec run : spec.runs()) {
            assertThat(run.toTrainConfig().optimizerMoments()).isEqualTo(OptimizerMoments.BF16);
        }
        assertThat(spec.commandLines()).allSatisfy(args -> assertThat(String.join(" ", args))
                .contains("--optimizer-moments bf16"));
        // The default is fp32 and leaves the flag out of the command line.
        assertThat(TrainSpec.builder().build().toTrainConfig().optimizerMoments()).isEqualTo(OptimizerMoments.FP32);
        assertThat(String.join(" ", TrainSpec.builder().build().commandLines().get(0)))
                .doesNotContain("optimizer-moments");
        assertThat(TrainSpec.builder().optimizerMoments("fp16").build().validate()).containsExactly(
                new Violation("optimizerMoments", "must be fp32 or bf16, not 'fp16'"));
    }

    @Test
    void stagesTwoAndThreeShardOverTwoOrMoreRanksWithAnyOffload() {
        for (int stage = 2; stage <= 3; stage++) {
            TrainSpec spec = TrainSpec.builder().devices("cpu:2").zeroStage(stage).optimizerOffload("cpu").build();
            assertThat(spec.validate()).isEmpty();
            assertThat(spec.toTrainConfig().sharding()).isEqualTo(new Sharding(stage, OffloadMode.CPU));
            assertThat(String.join(" ", spec.commandLines().get(0)))
                    .contains("--zero-stage " + stage + " --optimizer-offload cpu");
        }
        assertThat(TrainSpec.builder().devices("cpu:1").zeroStage(2).build().validate()).containsExactly(
                new Violation("zeroStage", "2 shards gradients over the ranks, and cpu:1 has one: use zeroStage 1 "
                        + "(with an optimizerOffload to move the state off the device) or more devices"));
        assertThat(TrainSpec.builder().devices("cpu:1").zeroStage(3).build().validate()).extracting(Violation::message)
                .containsExactly("3 shards gradients and parameters over the ranks, and cpu:1 has one: use zeroStage "
                        + "1 (with an optimizerOffload to move the state off the device) or more devices");
    }

    /**
     * keptAttentionLayers is the CLI's --kept-attention-layers, on the command line only where set, kept by every
     * stage; it keeps what checkpointing would drop, so it needs checkpointing, and a negative count is refused.
     */
    @Test
    void keptAttentionLayersIsItsFlagAndNeedsActivationCheckpointing() {
        TrainSpec spec = TrainSpec.builder().devices("cpu:2").keptAttentionLayers(2)
                .stages(List.of(new TrainStage(null, null, null, null, null, null, null),
                        new TrainStage(128, null, null, null, null, null, null)))
                .build();
        assertThat(spec.validate()).isEmpty();
        assertThat(spec.runs()).extracting(run -> run.toTrainConfig().keptAttentionLayers()).containsExactly(2, 2);
        assertThat(spec.commandLines()).allSatisfy(args -> assertThat(String.join(" ", args))
                .contains(" --kept-attention-layers 2 "));
        assertThat(TrainSpec.builder().build().toTrainConfig().keptAttentionLayers()).isZero();
        assertThat(String.join(" ", TrainSpec.builder().build().commandLines().get(0)))
                .doesNotContain("kept-attention-layers");

        assertThat(TrainSpec.builder().keptAttentionLayers(-1).build().validate()).containsExactly(
                new Violation("keptAttentionLayers", "must be greater than or equal to 0"));
        assertThat(TrainSpec.builder().keptAttentionLayers(1).activationCheckpointing(false).build().validate())
                .containsExactly(new Violation("keptAttentionLayers", "needs activationCheckpointing: without it "
                        + "every layer keeps its attention output already"));
        assertThat(TrainSpec.builder().keptAttentionLayers(0).activationCheckpointing(false).build().validate())
                .isEmpty();
    }

    /**
     * autoMemory is the CLI's --auto-memory: on the command line only where set, kept by every stage, and refused
     * on CPU ranks, which have no device memory for the planner to fit.
     */
    @Test
    void autoMemoryIsItsFlagEveryStageKeepsItAndItAppliesToGpusOnly() {
        assertThat(TrainSpec.builder().build().autoMemory()).isFalse();
        assertThat(String.join(" ", TrainSpec.builder().build().commandLines().get(0))).doesNotContain("auto-memory");

        TrainSpec cpu = TrainSpec.builder().devices("cpu:2").autoMemory(true)
                .stages(List.of(new TrainStage(null, null, null, null, null, null, null),
                        new TrainStage(128, null, null, null, null, null, null)))
                .build();
        assertThat(cpu.runs()).extracting(TrainSpec::autoMemory).containsExactly(true, true);
        assertThat(cpu.commandLines()).allSatisfy(args -> assertThat(String.join(" ", args))
                .contains(" --auto-memory true --output-dir "));
        assertThat(cpu.validate()).containsExactly(new Violation("autoMemory", "applies to GPU devices only: it "
                + "chooses how GPU ranks hold their state, and devices cpu:2 has none"));
        assertThat(TrainSpec.builder().devices("cpu:2").autoMemory(false).build().validate()).isEmpty();
    }

    @Test
    void anInvalidSpecRefusesToBecomeAConfig() {
        assertThatThrownBy(() -> TrainSpec.builder().seqLength(0).build().toTrainConfig())
                .isInstanceOf(InvalidSpecException.class)
                .hasMessage("seqLength: must be greater than or equal to 1");
    }
}
