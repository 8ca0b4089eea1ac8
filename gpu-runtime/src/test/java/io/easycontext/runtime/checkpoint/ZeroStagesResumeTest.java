package io.easycontext.runtime.checkpoint;

import io.easycontext.runtime.comm.RankDevices;
import io.easycontext.runtime.hf.HfModelDir;
import io.easycontext.runtime.io.SafetensorsDType;
import io.easycontext.runtime.io.SafetensorsFile;
import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.optim.zero.OffloadMode;
import io.easycontext.runtime.optim.zero.Sharding;
import io.easycontext.runtime.parallel.ParallelConfig;
import io.easycontext.runtime.parallel.ParallelMode;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.train.CancellationToken;
import io.easycontext.runtime.train.Checkpointing;
import io.easycontext.runtime.train.DistributedTrainer;
import io.easycontext.runtime.train.StepMetrics;
import io.easycontext.runtime.train.SyntheticData;
import io.easycontext.runtime.train.TrainConfig;
import io.easycontext.runtime.train.WeightsSnapshot;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A run with its state sharded (ZeRO stages 1 to 3), stopped after a checkpoint and resumed through
 * {@link CheckpointManager}, computes exactly the losses of the run that never stopped, each rank restoring its own
 * shard (of the flat layout under stage 1, of the unit-wise one under stages 2 and 3), the resumed run free to keep
 * the state elsewhere (saved from host memory, resumed streaming through the device, say). Under stage 3 no rank
 * holds the whole model, so the checkpoint's model and the final model are gathered unit by unit onto rank 0: they
 * must be the very weights stage 2, which holds them whole on every rank, writes.
 */
class ZeroStagesResumeTest {

    private static final LlamaConfig MODEL = LlamaConfig.of(32, 48, 2, 4, 2, 64);
    private static final int WORLD = 3;

    @TempDir
    Path dir;

    private static TrainConfig config(int steps, Sharding sharding) {
        ParallelConfig parallel = ParallelConfig.resolve(ParallelMode.DATA_PARALLEL, WORLD, ParallelConfig.UNSET,
                ParallelConfig.UNSET, ParallelConfig.UNSET);
        return new TrainConfig(MODEL, parallel, 16, 2, 1, steps, 3e-3, 2, 0.1, 1.0, 9,
                RankDevices.cpu(WORLD, DType.F32), true, sharding);
    }

    private static List<StepMetrics> run(TrainConfig config, Checkpointing checkpoints) {
        return DistributedTrainer.train(config, new SyntheticData(9, MODEL.vocabSize()), m -> {
        }, CancellationToken.NONE, null, false, checkpoints).steps();
    }

    private CheckpointManager manager(Path out, int every, String resume) {
        return new CheckpointManager(new CheckpointManager.Options(out, every, 0, resume, SafetensorsDType.F32, null));
    }

    @ParameterizedTest(name = "stage {0}: saved with offload {1}, resumed with {2}")
    @CsvSource({"1, CPU, GPU_STREAM", "2, CPU, GPU_STREAM", "3, NONE, CPU"})
    void eachRankRestoresItsShardAndTheRunContinuesBitForBit(int stage, OffloadMode saved, OffloadMode resumed) {
        Path out = dir.resolve("stage" + stage);
        List<StepMetrics> whole = run(config(6, new Sharding(stage, saved)), Checkpointing.NONE);
        run(config(3, new Sharding(stage, saved)), manager(out, 3, null));
        List<StepMetrics> rest = run(config(6, new Sharding(stage, resumed)), manager(out, 3, "latest"));

        assertThat(rest).extracting(StepMetrics::step).containsExactly(4, 5, 6);
        for (int i = 0; i < 3; i++) {
            assertThat(rest.get(i).loss()).as("loss at step %d", i + 4).isEqualTo(whole.get(i + 3).loss());
            assertThat(rest.get(i).gradNorm()).isEqualTo(whole.get(i + 3).gradNorm());
        }
        for (int rank = 0; rank < WORLD; rank++) {
            try (SafetensorsFile f = SafetensorsFile.open(OptimizerStateFile.path(out.resolve("checkpoint-0000006"),
                    rank))) {
                assertThat(f.metadata()).containsEntry("step", "6").containsEntry("zero_shard", String.valueOf(rank))
                        .containsEntry("zero_shards", String.valueOf(WORLD));
                if (stage >= 2) {
                    assertThat(f.metadata().get("zero_layout")).startsWith((MODEL.numHiddenLayers() + 3) + " units");
                }
                assertThat(f.names()).containsExactly("exp_avg.00000", "exp_avg_sq.00000");
            }
        }
    }

    @Test
    void stageThreeGathersTheModelItSavesAndHandsOn() {
        Path two = dir.resolve("two");
        Path three = dir.resolve("three");
        run(config(2, new Sharding(2, OffloadMode.NONE)), manager(two, 1, null));
        run(config(2, new Sharding(3, OffloadMode.NONE)), manager(three, 1, null));
        for (String model : List.of("checkpoint-0000001/model/" + HfModelDir.SINGLE, HfModelDir.SINGLE)) {
            try (SafetensorsFile a = SafetensorsFile.open(two.resolve(model));
                 SafetensorsFile b = SafetensorsFile.open(three.resolve(model))) {
                assertThat(b.names()).isEqualTo(a.names()).hasSize(LlamaWeights.layout(MODEL).size());
                for (String name : a.names()) {
                    assertThat(b.readFloats(name)).as(name).containsExactly(a.readFloats(name));
                }
            }
        }
        // The final weights a run hands on (gathered onto rank 0 under stage 3) are stage 2's, and start any run.
        double fromStage2 = firstLoss(config(1, Sharding.REPLICATED), finalWeights(new Sharding(2, OffloadMode.NONE)));
        WeightsSnapshot kept = finalWeights(new Sharding(3, OffloadMode.NONE));
        assertThat(firstLoss(config(1, Sharding.REPLICATED), kept)).isEqualTo(fromStage2);
        assertThat(firstLoss(config(1, new Sharding(3, OffloadMode.NONE)), kept)).isEqualTo(fromStage2);
    }

    private static WeightsSnapshot finalWeights(Sharding sharding) {
        WeightsSnapshot kept = DistributedTrainer.train(config(2, sharding), new SyntheticData(9, MODEL.vocabSize()),
                m -> {
                }, CancellationToken.NONE, null, true).finalWeights();
        assertThat(kept).isNotNull();
        return kept;
    }

    private static double firstLoss(TrainConfig config, WeightsSnapshot initial) {
        return DistributedTrainer.train(config, new SyntheticData(9, MODEL.vocabSize()), m -> {
        }, CancellationToken.NONE, initial, false).steps().get(0).loss();
    }

    @Test
    void aCheckpointResumesOnlyUnderTheStageItWasSavedWith() {
        Path out = dir.resolve("mixed");
        run(config(2, new Sharding(2, OffloadMode.NONE)), manager(out, 2, null));
        assertThatThrownBy(() -> run(config(4, new Sharding(3, OffloadMode.NONE)), manager(out, 2, "latest")))
                .hasStackTraceContaining("zero_stage 2, this run has 3");
        assertThatThrownBy(() -> run(config(4, new Sharding(1, OffloadMode.NONE)), manager(out, 2, "latest")))
                .hasStackTraceContaining("zero_stage 2, this run has 1");
    }

    @Test
    void aShardedCheckpointIsNotResumedReplicatedNorTheOtherWayRound() {
        Path out = dir.resolve("stage1");
        run(config(2, new Sharding(1, OffloadMode.NONE)), manager(out, 2, null));
        assertThatThrownBy(() -> run(config(4, Sharding.REPLICATED), manager(out, 2, "latest")))
                .hasStackTraceContaining("zero_stage 1, this run has 0");
    }
}
