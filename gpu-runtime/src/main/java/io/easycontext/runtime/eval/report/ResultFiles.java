package io.easycontext.runtime.eval.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.easycontext.runtime.eval.needle.CellScore;
import io.easycontext.runtime.eval.needle.NeedleEvaluation;
import io.easycontext.runtime.eval.ppl.PerplexityPoint;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * An evaluation's results on disk: {@code <name>.json} (the settings and every row), {@code <name>.csv} (the rows,
 * for a spreadsheet or another plot) and {@code <name>.png} (the plot), side by side in one directory.
 */
public final class ResultFiles {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Path dir;
    private final String name;

    public ResultFiles(Path dir, String name) {
        this.dir = dir;
        this.name = name;
    }

    public Path json() {
        return dir.resolve(name + ".json");
    }

    public Path csv() {
        return dir.resolve(name + ".csv");
    }

    public Path png() {
        return dir.resolve(name + ".png");
    }

    /** The needle test's files; {@code settings} go into the JSON as they are. */
    public void writeNeedle(Map<String, Object> settings, List<CellScore> cells, String title) {
        ObjectNode root = header(settings);
        root.put("average_accuracy", NeedleEvaluation.averageAccuracy(cells));
        ArrayNode rows = root.putArray("cells");
        StringBuilder csv = new StringBuilder("context_length,depth_percent,score\n");
        for (CellScore c : cells) {
            rows.addObject().put("context_length", c.contextLength()).put("depth_percent", c.depthPercent())
                    .put("score", c.score()).put("samples", c.samples());
            csv.append(String.format(Locale.ROOT, "%d,%d,%s%n", c.contextLength(), c.depthPercent(), c.score()));
        }
        write(root, csv);
        NeedleHeatMap.write(png(), title, cells);
    }

    /** The perplexity evaluation's files. */
    public void writePerplexity(Map<String, Object> settings, List<PerplexityPoint> points, String title,
                                String seriesName) {
        ObjectNode root = header(settings);
        ArrayNode rows = root.putArray("points");
        StringBuilder csv = new StringBuilder("context_length,tokens,windows,perplexity,window_mean_perplexity\n");
        for (PerplexityPoint p : points) {
            rows.addObject().put("context_length", p.contextLength()).put("tokens", p.tokens())
                    .put("windows", p.windows()).put("perplexity", p.perplexity())
                    .put("window_mean_perplexity", p.windowMeanPerplexity());
            csv.append(String.format(Locale.ROOT, "%d,%d,%d,%s,%s%n", p.contextLength(), p.tokens(), p.windows(),
                    p.perplexity(), p.windowMeanPerplexity()));
        }
        write(root, csv);
        PerplexityPlot.write(png(), title, seriesName, points);
    }

    private static ObjectNode header(Map<String, Object> settings) {
        ObjectNode root = JSON.createObjectNode();
        settings.forEach((k, v) -> root.set(k, JSON.valueToTree(v)));
        return root;
    }

    private void write(ObjectNode json, CharSequence csv) {
        try {
            Files.createDirectories(dir);
            JSON.writeValue(json().toFile(), json);
            Files.writeString(csv(), csv, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write results under " + dir, e);
        }
    }
}
