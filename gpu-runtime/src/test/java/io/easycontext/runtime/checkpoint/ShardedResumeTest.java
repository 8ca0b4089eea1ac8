package io.easycontext.runtime.checkpoint;

import io.easycontext.runtime.comm.RankDevices;
import io.easycontext.runtime.io.SafetensorsDType;
import io.easycontext.runtime.io.SafetensorsFile;
import io.easycontext.runtime.model.LlamaConfig;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A run with the optimizer sharded, stopped after a checkpoint and resumed through {@link CheckpointManager}, computes
 * exactly the losses of the run that never stopped, each rank restoring its own shard; the resumed run may keep the
 * shard elsewhere (here: saved from host memory, resumed streaming through the device).
 */
class ShardedResumeTest {

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

    private CheckpointManager manager(int every, String resume) {
        return new CheckpointManager(new CheckpointManager.Options(dir, every, 0, resume, SafetensorsDType.F32, null));
    }

    @Test
    void eachRankRestoresItsShardAndTheRunContinuesBitForBit() {
        Sharding savedFrom = new Sharding(1, OffloadMode.CPU);
        List<StepMetrics> whole = run(config(6, savedFrom), Checkpointing.NONE);
        run(config(3, savedFrom), manager(3, null));
        List<StepMetrics> rest = run(config(6, new Sharding(1, OffloadMode.GPU_STREAM)), manager(3, "latest"));

        assertThat(rest).extracting(StepMetrics::step).containsExactly(4, 5, 6);
        for (int i = 0; i < 3; i++) {
            assertThat(rest.get(i).loss()).as("loss at step %d", i + 4).isEqualTo(whole.get(i + 3).loss());
            assertThat(rest.get(i).gradNorm()).isEqualTo(whole.get(i + 3).gradNorm());
        }
        for (int rank = 0; rank < WORLD; rank++) {
            try (SafetensorsFile f = SafetensorsFile.open(OptimizerStateFile.path(dir.resolve("checkpoint-0000006"),
                    rank))) {
                assertThat(f.metadata()).containsEntry("step", "6").containsEntry("zero_shard", String.valueOf(rank))
                        .containsEntry("zero_shards", String.valueOf(WORLD));
                assertThat(f.names()).containsExactly("exp_avg.00000", "exp_avg_sq.00000");
            }
        }
    }

    @Test
    void aShardedCheckpointIsNotResumedReplicatedNorTheOtherWayRound() {
        run(config(2, new Sharding(1, OffloadMode.NONE)), manager(2, null));
        assertThatThrownBy(() -> run(config(4, Sharding.REPLICATED), manager(2, "latest")))
                .hasStackTraceContaining("zero_stage 1, this run has 0");
    }
}
