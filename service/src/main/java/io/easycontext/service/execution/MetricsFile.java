package io.easycontext.service.execution;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

import io.easycontext.runtime.train.StepMetrics;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A stage's {@code metrics/stage-K.jsonl}: one line per optimizer step, exactly what the stage's command line prints
 * on stdout. Each line is flushed as it is written, so that a crash of the service loses at most the one it was
 * writing.
 */
final class MetricsFile implements AutoCloseable {

    private static final JsonMapper JSON = new JsonMapper();

    private final BufferedWriter out;
    private double lastLoss;

    private MetricsFile(BufferedWriter out, double lastLoss) {
        this.out = out;
        this.lastLoss = lastLoss;
    }

    /** A stage started from its first step: an earlier attempt's file, if any, is replaced. */
    static MetricsFile create(Path file) {
        try {
            Files.createDirectories(file.getParent());
            return new MetricsFile(Files.newBufferedWriter(file, StandardCharsets.UTF_8), Double.NaN);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A stage resumed from its checkpoint after {@code steps} steps: the lines of those steps stay, and those an
     * interrupted attempt wrote after the checkpoint go (the steps are computed again), as does a line the crash cut
     * short. The kept lines replace the file in one rename, so that a second crash here loses nothing.
     */
    static MetricsFile resume(Path file, long steps) {
        try {
            List<String> kept = new ArrayList<>();
            double lastLoss = Double.NaN;
            for (String line : Files.exists(file) ? Files.readAllLines(file, StandardCharsets.UTF_8) : List.<String>of()) {
                JsonNode step = parse(line);
                if (step != null && step.path("step").asLong() <= steps) {
                    kept.add(line);
                    lastLoss = step.path("loss").asDouble();
                }
            }
            Files.createDirectories(file.getParent());
            // A dot name keeps the half-written copy out of the artifacts.
            Path copy = file.resolveSibling("." + file.getFileName() + ".tmp");
            Files.write(copy, kept, StandardCharsets.UTF_8);
            Files.move(copy, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return new MetricsFile(Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.APPEND),
                    lastLoss);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static JsonNode parse(String line) {
        try {
            return JSON.readTree(line);
        } catch (JacksonException e) {
            return null;
        }
    }

    void append(StepMetrics m) {
        try {
            out.write(m.toJson());
            out.newLine();
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        lastLoss = m.loss();
    }

    /** The loss of the file's last step; NaN while it has none. */
    double lastLoss() {
        return lastLoss;
    }

    @Override
    public void close() {
        try {
            out.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
