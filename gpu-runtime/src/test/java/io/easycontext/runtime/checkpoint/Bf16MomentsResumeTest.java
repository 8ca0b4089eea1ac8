package io.easycontext.runtime.checkpoint;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.backend.cpu.CpuBackend;
import io.easycontext.runtime.comm.InProcessRanks;
import io.easycontext.runtime.comm.RankDevices;
import io.easycontext.runtime.io.InvalidFileException;
import io.easycontext.runtime.io.SafetensorsDType;
import io.easycontext.runtime.io.SafetensorsFile;
import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.optim.AdamW;
import io.easycontext.runtime.optim.LrSchedule;
import io.easycontext.runtime.optim.OptimizerMoments;
import io.easycontext.runtime.optim.zero.OffloadMode;
import io.easycontext.runtime.optim.zero.ShardedOptimizer;
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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Checkpoints of runs with bf16 AdamW moments: the optimizer files hold the moments as bf16 and say so, a resumed
 * run continues bit for bit (replicated and sharded, the offload changed across the resume), and a resume under the
 * other moments' type is refused, naming both.
 */
class Bf16MomentsResumeTest {

    private static final LlamaConfig MODEL = LlamaConfig.of(32, 48, 2, 4, 2, 64);

    @TempDir
    Path dir;

    private static TrainConfig config(int world, int steps, Sharding sharding, OptimizerMoments moments) {
        ParallelConfig parallel = ParallelConfig.resolve(ParallelMode.DATA_PARALLEL, world, ParallelConfig.UNSET,
                ParallelConfig.UNSET, ParallelConfig.UNSET);
        return new TrainConfig(MODEL, parallel, 16, 2, 1, steps, 3e-3, 2, 0.1, 1.0, 9,
                RankDevices.cpu(world, DType.F32), true, sharding, 0, moments);
    }

    private static List<StepMetrics> run(TrainConfig config, Checkpointing checkpoints) {
        return DistributedTrainer.train(config, new SyntheticData(9, MODEL.vocabSize()), m -> {
        }, CancellationToken.NONE, null, false, checkpoints).steps();
    }

    private CheckpointManager manager(int every, String resume) {
        return new CheckpointManager(new CheckpointManager.Options(dir, every, 0, resume, SafetensorsDType.F32, null));
    }

    @ParameterizedTest(name = "cpu:{0}, zero stage {1}, saved with offload {2}, resumed with {3}")
    @CsvSource({"1, 0, NONE, NONE", "2, 1, CPU, GPU_STREAM", "2, 1, GPU_STREAM, NONE", "2, 2, NONE, CPU"})
    void aResumedBf16MomentRunContinuesBitForBit(int world, int stage, OffloadMode saved, OffloadMode resumed)
            throws IOException {
        List<StepMetrics> whole = run(config(world, 5, new Sharding(stage, saved), OptimizerMoments.BF16),
                Checkpointing.NONE);
        run(config(world, 2, new Sharding(stage, saved), OptimizerMoments.BF16), manager(2, null));
        Path checkpoint = dir.resolve("checkpoint-0000002");
        for (int rank = 0; rank < world; rank++) {
            try (SafetensorsFile f = SafetensorsFile.open(OptimizerStateFile.path(checkpoint, rank))) {
                assertThat(f.metadata()).containsEntry("optimizer_moments", "bf16");
                assertThat(f.names()).allSatisfy(n -> assertThat(f.info(n).dtype())
                        .isEqualTo(n.contains("exp_avg") ? SafetensorsDType.BF16 : SafetensorsDType.F32));
                assertThat(f.names()).anyMatch(n -> n.contains("exp_avg_sq"));
            }
        }
        assertThat(Files.readString(checkpoint.resolve(TrainerState.FILE))).contains("\"optimizer_moments\" : \"bf16\"");

        List<StepMetrics> rest = run(config(world, 5, new Sharding(stage, resumed), OptimizerMoments.BF16),
                manager(0, "latest"));
        assertThat(rest).extracting(StepMetrics::step).containsExactly(3, 4, 5);
        for (int i = 0; i < 3; i++) {
            assertThat(rest.get(i).loss()).as("loss at step %d", i + 3).isEqualTo(whole.get(i + 2).loss());
            assertThat(rest.get(i).gradNorm()).isEqualTo(whole.get(i + 2).gradNorm());
        }
    }

    @Test
    void resumingUnderTheOtherMomentsTypeIsRefusedNamingBoth() {
        run(config(1, 2, Sharding.REPLICATED, OptimizerMoments.BF16), manager(2, null));
        assertThatThrownBy(() -> run(config(1, 4, Sharding.REPLICATED, OptimizerMoments.FP32), manager(0, "latest")))
                .hasStackTraceContaining("optimizer_moments bf16, this run has fp32");
    }

    /**
     * The optimizer files refuse the other type themselves (a trainer state without the entry, as checkpoints from
     * before the option have, leaves the check to them), replicated and sharded, each way.
     */
    @Test
    void anOptimizerFileOfTheOtherMomentsTypeIsRefusedNamingBoth() throws IOException {
        AdamW.Hyper bf16 = new AdamW.Hyper(0.9, 0.95, 1e-8, 0.1, OptimizerMoments.BF16);
        AdamW.Hyper fp32 = bf16.withMoments(OptimizerMoments.FP32);
        Backend backend = new CpuBackend(DType.F32);
        LlamaWeights w = LlamaWeights.initialize(backend, MODEL, 9);
        Path replicated = dir.resolve("replicated.safetensors");
        try (AdamW saved = new AdamW(backend, w.parameters(), bf16)) {
            OptimizerStateFile.write(replicated, backend, saved);
        }
        try (AdamW other = new AdamW(backend, w.parameters(), fp32)) {
            assertThatThrownBy(() -> OptimizerStateFile.read(replicated, backend, other))
                    .isInstanceOf(InvalidFileException.class)
                    .hasMessageContaining("holds AdamW moments in bf16 (saved with --optimizer-moments bf16), but this "
                            + "run keeps them in fp32 (--optimizer-moments fp32); resume with --optimizer-moments bf16");
        }

        Files.createDirectories(OptimizerStateFile.path(dir, 0).getParent());
        InProcessRanks.run(2, comm -> {
            Backend b = new CpuBackend(DType.F32);
            LlamaWeights flat = LlamaWeights.initializeFlat(b, MODEL, 9, comm.size());
            Path file = OptimizerStateFile.path(dir, comm.rank());
            try (ShardedOptimizer saved = new ShardedOptimizer(b, comm, flat.flat().orElseThrow(), flat.parameters(),
                    fp32, LrSchedule.constant(1e-3), 1.0, OffloadMode.CPU)) {
                OptimizerStateFile.writeShard(file, saved);
            }
            try (ShardedOptimizer other = new ShardedOptimizer(b, comm, flat.flat().orElseThrow(), flat.parameters(),
                    bf16, LrSchedule.constant(1e-3), 1.0, OffloadMode.GPU_STREAM)) {
                assertThatThrownBy(() -> OptimizerStateFile.readShard(file, other))
                        .isInstanceOf(InvalidFileException.class)
                        .hasMessageContaining("holds AdamW moments in fp32 (saved with --optimizer-moments fp32), but "
                                + "this run keeps them in bf16 (--optimizer-moments bf16); resume with "
                                + "--optimizer-moments fp32");
            }
            return null;
        });
    }
}
