package io.easycontext.runtime.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** {@code eval-needle} and {@code eval-ppl} end to end, on a preset with weights drawn from the seed. */
class EvalCommandsTest {

    private record Run(int code, List<JsonNode> lines, String stderr) {
        JsonNode last() {
            return lines.get(lines.size() - 1);
        }
    }

    private static Run run(String... args) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        List<JsonNode> lines = new ArrayList<>();
        for (String line : out.toString(StandardCharsets.UTF_8).lines().toList()) {
            lines.add(new ObjectMapper().readTree(line));
        }
        return new Run(code, lines, err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void evalNeedleScoresEveryCellAndWritesItsFiles(@TempDir Path dir) throws IOException {
        Run r = run("eval-needle", "--model", "small", "--devices", "cpu:2", "--min-context-length", "100",
                "--max-context-length", "300", "--context-interval", "100", "--depth-interval", "0.5",
                "--num-samples", "2", "--num-distractor", "1", "--rnd-number-digits", "5",
                "--output-dir", dir.toString());
        assertThat(r.code()).as(r.stderr()).isZero();
        assertThat(r.lines()).hasSize(3 * 3 + 1);
        double sum = 0;
        for (JsonNode cell : r.lines().subList(0, 9)) {
            assertThat(cell.get("score").asDouble()).isIn(0.0, 0.5, 1.0);
            sum += cell.get("score").asDouble();
        }
        assertThat(r.lines().get(4).get("context_length").asInt()).isEqualTo(200);
        assertThat(r.lines().get(4).get("depth_percent").asInt()).isEqualTo(50);
        assertThat(r.last().get("average_accuracy").asDouble()).isCloseTo(sum / 9, within(1e-12));
        Path png = Path.of(r.last().get("heatmap").asText());
        assertThat(png).isEqualTo(dir.resolve("needle-small.png")).isNotEmptyFile();
        assertThat(dir.resolve("needle-small.csv")).hasContent(String.join("\n", csvLines(r)));
        JsonNode json = new ObjectMapper().readTree(dir.resolve("needle-small.json").toFile());
        assertThat(json.get("parallel_mode").asText()).isEqualTo("zigzag_ring_attn");
        assertThat(json.get("num_distractor").asInt()).isEqualTo(1);
    }

    private static List<String> csvLines(Run r) {
        List<String> lines = new ArrayList<>(List.of("context_length,depth_percent,score"));
        for (JsonNode cell : r.lines().subList(0, r.lines().size() - 1)) {
            lines.add(cell.get("context_length").asInt() + "," + cell.get("depth_percent").asInt() + ","
                    + cell.get("score").asDouble());
        }
        return lines;
    }

    @Test
    void evalPplOnRanksMatchesOneRank(@TempDir Path dir) throws IOException {
        Path docs = Files.createDirectories(dir.resolve("docs"));
        Files.writeString(docs.resolve("a.txt"), "A short story about a river and a hill. ".repeat(8));
        Files.writeString(docs.resolve("b.txt"), "Numbers: 1, 2, 3, 4, 5, 6, 7. ".repeat(5));
        String[] common = {"eval-ppl", "--model", "small", "--dataset", docs.toString(), "--min-tokens", "64",
                "--max-tokens", "128", "--tokens-step", "64", "--sliding-window", "32"};
        Run one = run(concat(common, "--devices", "cpu:1", "--output-dir", dir.resolve("one").toString()));
        Run four = run(concat(common, "--devices", "cpu:4", "--output-dir", dir.resolve("four").toString()));
        assertThat(one.code()).as(one.stderr()).isZero();
        assertThat(four.code()).as(four.stderr()).isZero();
        assertThat(four.lines()).hasSize(3);
        int chars = 8 * 40 + 5 * 30;
        for (int i = 0; i < 2; i++) {
            JsonNode a = one.lines().get(i);
            JsonNode b = four.lines().get(i);
            assertThat(b.get("context_length").asInt()).isEqualTo(64 * (i + 1));
            // Every byte of both documents is scored once (each window starts with BOS).
            assertThat(b.get("tokens").asLong()).isEqualTo(chars);
            // Weights drawn at random: about as surprised as a uniform guess over the 512 ids.
            assertThat(b.get("perplexity").asDouble()).isBetween(300.0, 900.0)
                    .isCloseTo(a.get("perplexity").asDouble(), within(1e-4 * a.get("perplexity").asDouble()));
        }
        assertThat(Files.readAllLines(dir.resolve("four/ppl-small.csv"))).hasSize(3);
        assertThat(Path.of(four.last().get("plot").asText())).isNotEmptyFile();
    }

    @Test
    void badSettingsExitWithStatusTwoAndSayWhy(@TempDir Path dir) throws IOException {
        Run dataParallel = run("eval-needle", "--model", "small", "--devices", "cpu:2", "--parallel-mode",
                "data_parallel", "--output-dir", dir.toString());
        assertThat(dataParallel.code()).isEqualTo(2);
        assertThat(dataParallel.stderr()).contains("data_parallel");
        Run tooSmall = run("eval-needle", "--model", "tiny", "--output-dir", dir.toString());
        assertThat(tooSmall.code()).isEqualTo(2);
        assertThat(tooSmall.stderr()).contains("258 ids, more than the model's vocabulary of 256");
        Run typo = run("eval-ppl", "--model", "small", "--max-token", "99");
        assertThat(typo.code()).isEqualTo(2);
        assertThat(typo.stderr()).contains("unknown flag --max-token");
        Run devices = run("passkey", "--devices", "tpu:0");
        assertThat(devices.code()).isEqualTo(2);
        assertThat(devices.stderr()).contains("cpu:N", "cuda:K");
    }

    private static String[] concat(String[] a, String... b) {
        String[] all = new String[a.length + b.length];
        System.arraycopy(a, 0, all, 0, a.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
