package io.easycontext.runtime.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The CPU passkey recipe as one command: a tiny Llama learns the task from scratch, goes on at twice the length
 * with theta raised, and finds the key at its trained length.
 */
class PasskeyCommandTest {

    @Test
    void cpuRecipeLearnsToFindTheKeyAtItsTrainedLength(@TempDir Path dir) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(new String[] {"passkey", "--scale", "cpu", "--output-dir", dir.toString()},
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        String log = err.toString(StandardCharsets.UTF_8);
        assertThat(code).as(log).isZero();
        List<JsonNode> steps = new ArrayList<>();
        List<JsonNode> cells = new ArrayList<>();
        JsonNode summary = null;
        for (String line : out.toString(StandardCharsets.UTF_8).lines().toList()) {
            JsonNode n = new ObjectMapper().readTree(line);
            if (n.has("step")) {
                steps.add(n);
            } else if (n.has("depth_percent")) {
                cells.add(n);
            } else {
                summary = n;
            }
        }
        JsonNode first = steps.get(0);
        JsonNode lastOfStage1 = steps.stream().filter(s -> s.get("stage").asInt() == 1).reduce((a, b) -> b)
                .orElseThrow();
        assertThat(first.get("loss").asDouble()).as("about ln 258 at first").isGreaterThan(4);
        assertThat(lastOfStage1.get("loss").asDouble()).as(log).isLessThan(0.5);
        assertThat(steps).anySatisfy(s -> assertThat(s.get("stage").asInt()).isEqualTo(2));
        assertThat(summary).isNotNull();
        int trained = summary.get("trained_context_length").asInt();
        assertThat(cells).filteredOn(c -> c.get("context_length").asInt() == trained).hasSize(5);
        assertThat(summary.get("accuracy_at_trained_length").asDouble()).as(log).isGreaterThanOrEqualTo(0.9);
        assertThat(ImageIO.read(Path.of(summary.get("heatmap").asText()).toFile()).getWidth()).isEqualTo(1200);
    }
}
