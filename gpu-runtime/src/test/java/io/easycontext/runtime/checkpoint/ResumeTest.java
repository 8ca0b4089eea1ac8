package io.easycontext.runtime.checkpoint;

import io.easycontext.runtime.comm.RankDevices;
import io.easycontext.runtime.data.PackedDataset;
import io.easycontext.runtime.data.Sotu;
import io.easycontext.runtime.data.TokenArray;
import io.easycontext.runtime.io.SafetensorsDType;
import io.easycontext.runtime.io.SafetensorsFile;
import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.parallel.ParallelConfig;
import io.easycontext.runtime.parallel.ParallelMode;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tokenizer.ByteTokenizer;
import io.easycontext.runtime.train.CancellationToken;
import io.easycontext.runtime.train.Checkpointing;
import io.easycontext.runtime.train.DataSource;
import io.easycontext.runtime.train.DistributedTrainer;
import io.easycontext.runtime.train.StepMetrics;
import io.easycontext.runtime.train.TrainConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A resumed run computes, at every step after the resume, exactly the loss of the run that never stopped. */
class ResumeTest {

    private static final LlamaConfig MODEL = LlamaConfig.of(32, 48, 2, 4, 2, ByteTokenizer.VOCAB_SIZE);
    private static final int SEQ = 16;
    private static DataSource data;

    @TempDir
    Path dir;

    /** Four addresses of real prose, byte-tokenized, packed into windows of 17 tokens. */
    @BeforeAll
    static void corpus() throws IOException {
        TokenArray.Builder b = new TokenArray.Builder();
        try (Stream<Path> files = Files.list(Sotu.dir())) {
            for (Path f : files.sorted().limit(4).toList()) {
                b.append(ByteTokenizer.INSTANCE.encodeWithSpecialTokens(Files.readString(f, StandardCharsets.UTF_8)));
            }
        }
        data = new PackedDataset(b.build(ByteTokenizer.VOCAB_SIZE, "four addresses"), SEQ, 3);
    }

    private static TrainConfig config(ParallelMode mode, int world, DType dtype, int steps, double lr) {
        ParallelConfig parallel = ParallelConfig.resolve(mode, world, ParallelConfig.UNSET, ParallelConfig.UNSET,
                ParallelConfig.UNSET);
        return new TrainConfig(MODEL, parallel, SEQ, 2, 2, steps, lr, 2, 0.1, 1.0, 9, RankDevices.cpu(parallel.worldSize(), dtype), true);
    }

    private static List<StepMetrics> run(TrainConfig config, Checkpointing checkpoints) {
        return DistributedTrainer.train(config, data, m -> {
        }, CancellationToken.NONE, null, false, checkpoints).steps();
    }

    private CheckpointManager.Options options(int every, int keep, String resume) {
        return new CheckpointManager.Options(dir, every, keep, resume, SafetensorsDType.F32, null);
    }

    private List<String> checkpointNames() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.contains("checkpoint")).sorted().toList();
        }
    }

    private void assertResumedStepsEqualUninterrupted(ParallelMode mode, int world, DType dtype) throws IOException {
        List<StepMetrics> whole = run(config(mode, world, dtype, 6, 3e-3), Checkpointing.NONE);
        List<StepMetrics> first = run(config(mode, world, dtype, 3, 3e-3), new CheckpointManager(options(1, 2, null)));
        assertThat(checkpointNames()).containsExactly("checkpoint-0000002", "checkpoint-0000003");
        List<StepMetrics> rest = run(config(mode, world, dtype, 6, 3e-3), new CheckpointManager(options(1, 2, "latest")));
        assertThat(first).extracting(StepMetrics::loss).containsExactly(whole.subList(0, 3).stream()
                .map(StepMetrics::loss).toArray(Double[]::new));
        assertThat(rest).extracting(StepMetrics::step).containsExactly(4, 5, 6);
        for (int i = 0; i < 3; i++) {
            assertThat(rest.get(i).loss()).as("loss at step %d", i + 4).isEqualTo(whole.get(i + 3).loss());
            assertThat(rest.get(i).gradNorm()).isEqualTo(whole.get(i + 3).gradNorm());
            assertThat(rest.get(i).lr()).isEqualTo(whole.get(i + 3).lr());
        }
        assertThat(checkpointNames()).containsExactly("checkpoint-0000005", "checkpoint-0000006");
        try (SafetensorsFile optimizer = SafetensorsFile.open(OptimizerStateFile.path(
                dir.resolve("checkpoint-0000006"), world - 1))) {
            assertThat(optimizer.metadata()).containsEntry("step", "6");
            assertThat(optimizer.names()).contains("model.norm.weight.exp_avg", "model.norm.weight.exp_avg_sq");
        }
        TrainerState state = TrainerState.read(dir.resolve("checkpoint-0000006").resolve(TrainerState.FILE));
        assertThat(state.step()).isEqualTo(6);
        assertThat(state.nextSequence()).isEqualTo(6 * 2 * 2 * config(mode, world, dtype, 6, 0).parallel().dpDegree());
        assertThat(state.data()).contains("four addresses");
        // The final model is a Hugging Face directory at the top of the output directory.
        assertThat(dir.resolve("config.json")).exists();
        assertThat(dir.resolve("model.safetensors")).exists();
    }

    @Test
    void float64OnOneRank() throws IOException {
        assertResumedStepsEqualUninterrupted(ParallelMode.DATA_PARALLEL, 1, DType.F64);
    }

    @Test
    void float32OnTwoZigzagRanks() throws IOException {
        assertResumedStepsEqualUninterrupted(ParallelMode.ZIGZAG_RING_ATTN, 2, DType.F32);
    }

    @Test
    void aFailedSaveLeavesTheLastGoodCheckpointToResumeFrom() throws IOException {
        TrainConfig config = config(ParallelMode.DATA_PARALLEL, 1, DType.F32, 6, 3e-3);
        List<StepMetrics> whole = run(config, Checkpointing.NONE);
        CheckpointManager failing = new CheckpointManager(options(2, 0, null), written -> {
            if (written.getFileName().toString().contains("0000004")) {
                throw new IOException("injected: disk full");
            }
        });
        assertThatThrownBy(() -> run(config, failing)).hasStackTraceContaining("injected: disk full");
        assertThat(checkpointNames()).containsExactly("checkpoint-0000002");
        List<StepMetrics> rest = run(config, new CheckpointManager(options(2, 0, "latest")));
        assertThat(rest).extracting(StepMetrics::step).containsExactly(3, 4, 5, 6);
        assertThat(rest).extracting(StepMetrics::loss).containsExactly(whole.subList(2, 6).stream()
                .map(StepMetrics::loss).toArray(Double[]::new));
    }

    @Test
    void resumingAFinishedRunTrainsNothingAndWritesTheFinalModelAgain() throws IOException {
        TrainConfig config = config(ParallelMode.DATA_PARALLEL, 1, DType.F32, 3, 3e-3);
        run(config, new CheckpointManager(options(0, 0, null)));
        byte[] finalModel = Files.readAllBytes(dir.resolve("model.safetensors"));
        // A crash after the last checkpoint and before the final model was whole.
        Files.write(dir.resolve("model.safetensors"), new byte[]{1, 2, 3});

        List<StepMetrics> rest = run(config, new CheckpointManager(options(0, 0, "latest")));

        assertThat(rest).isEmpty();
        assertThat(Files.readAllBytes(dir.resolve("model.safetensors"))).isEqualTo(finalModel);
        assertThat(CheckpointManager.latest(dir)).hasValue(dir.resolve("checkpoint-0000003"));
        assertThat(CheckpointManager.step(CheckpointManager.latest(dir).orElseThrow())).isEqualTo(3);
    }

    @Test
    void resumingUnderOtherSettingsOrWorldSizeIsRefused() {
        run(config(ParallelMode.DATA_PARALLEL, 1, DType.F32, 2, 3e-3), new CheckpointManager(options(2, 0, null)));
        assertThatThrownBy(() -> run(config(ParallelMode.DATA_PARALLEL, 1, DType.F32, 4, 1e-3),
                new CheckpointManager(options(2, 0, "latest"))))
                .hasStackTraceContaining("learning_rate 0.003, this run has 0.001");
        assertThatThrownBy(() -> run(config(ParallelMode.DATA_PARALLEL, 2, DType.F32, 4, 3e-3),
                new CheckpointManager(options(2, 0, "latest")))).hasStackTraceContaining("parallel");
        assertThatThrownBy(() -> run(config(ParallelMode.DATA_PARALLEL, 1, DType.F32, 4, 3e-3),
                new CheckpointManager(options(2, 0, dir.resolve("nowhere").toString()))))
                .hasStackTraceContaining("not a checkpoint directory");
    }
}
