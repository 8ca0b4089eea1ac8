package io.easycontext.runtime.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.easycontext.runtime.data.Sotu;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** tokenize → train --dataset with checkpoints → train --resume latest; export → logits. */
class DataAndCheckpointCommandsTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private record Run(int code, List<JsonNode> lines, String stderr) {
    }

    private static Run run(String... args) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        List<JsonNode> lines = new ArrayList<>();
        for (String line : out.toString(StandardCharsets.UTF_8).lines().toList()) {
            lines.add(JSON.readTree(line));
        }
        return new Run(code, lines, err.toString(StandardCharsets.UTF_8));
    }

    /** A tiny Llama shape whose vocabulary holds the byte tokenizer's 258 ids. */
    private Path modelConfig() throws IOException {
        Path model = Files.createDirectories(dir.resolve("model"));
        Files.writeString(model.resolve("config.json"), "{\"model_type\": \"llama\", \"hidden_size\": 32, "
                + "\"intermediate_size\": 48, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, "
                + "\"num_key_value_heads\": 2, \"vocab_size\": 260}");
        return model;
    }

    @Test
    void trainingOnATokenizedCorpusResumesWhereItStopped() throws IOException {
        Path corpus = Files.createDirectories(dir.resolve("corpus"));
        try (Stream<Path> files = Files.list(Sotu.dir())) {
            for (Path f : files.sorted().limit(3).toList()) {
                Files.copy(f, corpus.resolve(f.getFileName()));
            }
        }
        Path tokens = dir.resolve("sotu.tok");
        Run tokenize = run("tokenize", "--input", corpus.toString(), "--output", tokens.toString());
        assertThat(tokenize.code()).as(tokenize.stderr()).isZero();
        assertThat(tokenize.lines().get(0).get("documents").asInt()).isEqualTo(3);
        assertThat(tokenize.lines().get(0).get("bytes_per_token").asInt()).isEqualTo(2);

        String model = modelConfig().toString();
        Path out = dir.resolve("out");
        String[] common = {"train", "--model", model, "--dataset", tokens.toString(), "--seq-length", "32",
                "--devices", "cpu:2", "--parallel-mode", "zigzag_ring_attn", "--learning-rate", "1e-3",
                "--output-dir", out.toString(), "--checkpoint-every", "2", "--keep-last", "1", "--save-dtype", "f32"};
        Run whole = run(concat(common, "--max-train-steps", "4"));
        assertThat(whole.code()).as(whole.stderr()).isZero();
        try (Stream<Path> all = Files.walk(out)) {
            all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }

        Run first = run(concat(common, "--max-train-steps", "2"));
        assertThat(first.code()).as(first.stderr()).isZero();
        assertThat(out.resolve("checkpoint-0000002/trainer_state.json")).exists();
        Run rest = run(concat(common, "--max-train-steps", "4", "--resume", "latest"));
        assertThat(rest.code()).as(rest.stderr()).isZero();
        assertThat(rest.lines()).extracting(l -> l.get("step").asInt()).containsExactly(3, 4);
        for (int i = 0; i < 2; i++) {
            assertThat(rest.lines().get(i).get("loss").asDouble()).isEqualTo(whole.lines().get(i + 2).get("loss")
                    .asDouble());
        }
        assertThat(out.resolve("checkpoint-0000002")).doesNotExist();
        assertThat(out.resolve("checkpoint-0000004")).isDirectory();

        // The final model is a Hugging Face directory: its logits are the last checkpoint's, and training can
        // start from its weights.
        Run a = run("logits", "--model", out.toString(), "--ids", "256,84,104,101");
        Run b = run("logits", "--model", out.resolve("checkpoint-0000004/model").toString(), "--ids",
                "256,84,104,101");
        assertThat(a.code()).as(a.stderr()).isZero();
        assertThat(a.lines().get(0).get("logits")).isEqualTo(b.lines().get(0).get("logits"));
        assertThat(a.lines().get(0).get("logits")).hasSize(4);
        Run again = run("train", "--model", out.toString(), "--dataset", tokens.toString(), "--seq-length", "32",
                "--max-train-steps", "1", "--learning-rate", "1e-3");
        assertThat(again.code()).as(again.stderr()).isZero();
        assertThat(again.lines().get(0).get("loss").asDouble())
                .isLessThan(whole.lines().get(0).get("loss").asDouble());
    }

    @Test
    void exportWritesShardsThatLogitsReadsAndBadInputExitsWithTheFileNamed() throws IOException {
        Path out = dir.resolve("exported");
        Run export = run("export", "--model", "tiny", "--output", out.toString(), "--dtype", "f32",
                "--max-shard-size", "50KB", "--seed", "4", "--rope-theta", "1000000");
        assertThat(export.code()).as(export.stderr()).isZero();
        assertThat(out.resolve("model.safetensors.index.json")).exists();
        assertThat(JSON.readTree(out.resolve("config.json").toFile()).get("rope_theta").asDouble()).isEqualTo(1e6);
        Run fromDir = run("logits", "--model", out.toString(), "--ids", "1,2,3", "--dtype", "f64");
        Run fromPreset = run("logits", "--model", "tiny", "--seed", "4", "--rope-theta", "1000000", "--ids", "1,2,3",
                "--dtype", "f64");
        assertThat(fromDir.lines().get(0).get("logits")).isEqualTo(fromPreset.lines().get(0).get("logits"));

        Path shard;
        try (Stream<Path> files = Files.list(out)) {
            shard = files.filter(p -> p.getFileName().toString().startsWith("model-00002")).findFirst().orElseThrow();
        }
        Files.write(shard, new byte[]{1, 2, 3});
        Run broken = run("logits", "--model", out.toString(), "--ids", "1");
        assertThat(broken.code()).isEqualTo(1);
        assertThat(broken.stderr()).contains(shard.toString()).contains("too short");
    }

    private static String[] concat(String[] a, String... b) {
        return Stream.concat(Stream.of(a), Stream.of(b)).toArray(String[]::new);
    }
}
