package io.easycontext.service.execution;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import io.easycontext.runtime.train.StepMetrics;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MetricsFileTest {

    @TempDir
    Path dir;

    @Test
    void aResumedStageKeepsTheStepsOfItsCheckpointAndAppendsTheRest() throws IOException {
        Path file = dir.resolve("metrics/stage-1.jsonl");
        try (MetricsFile first = MetricsFile.create(file)) {
            for (int step = 1; step <= 5; step++) {
                first.append(new StepMetrics(step, 10 - step, 1, 1e-3, 64, 1000));
            }
        }
        // The crash cut the sixth line short; the checkpoint holds step 3.
        Files.writeString(file, "{\"step\":6,\"lo", StandardCharsets.UTF_8, StandardOpenOption.APPEND);

        try (MetricsFile resumed = MetricsFile.resume(file, 3)) {
            assertThat(resumed.lastLoss()).isEqualTo(7.0);
            resumed.append(new StepMetrics(4, 6.5, 1, 1e-3, 64, 1000));
        }

        assertThat(Files.readAllLines(file)).extracting(line -> line.substring(0, line.indexOf(',')))
                .containsExactly("{\"step\":1", "{\"step\":2", "{\"step\":3", "{\"step\":4");
        assertThat(Files.readAllLines(file).get(3)).contains("\"loss\":6.5");
        try (var files = Files.list(file.getParent())) {
            assertThat(files).containsExactly(file);
        }
    }

    @Test
    void aFreshStageReplacesAnEarlierAttemptsFile() throws IOException {
        Path file = dir.resolve("stage-0.jsonl");
        Files.writeString(file, "{\"step\":1,\"loss\":3.0}\n");

        try (MetricsFile fresh = MetricsFile.create(file)) {
            assertThat(fresh.lastLoss()).isNaN();
        }

        assertThat(Files.readString(file)).isEmpty();
    }
}
