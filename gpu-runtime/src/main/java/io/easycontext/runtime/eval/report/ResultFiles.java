package io.easycontext.runtime.eval.report;

import com.fasterxml.jackson.databind.JsonNode;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * An evaluation's results on disk: {@code <name>.json} (the settings, the plot's title and every row),
 * {@code <name>.csv} (the rows, for a spreadsheet or another plot) and {@code <name>.png} (the plot), side by side in
 * one directory. The plot can be left out and drawn later from the JSON alone ({@link #redraw}): the GPU machine's
 * slim Java runtime has no AWT.
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
    public void writeNeedle(Map<String, Object> settings, List<CellScore> cells, String title, boolean plot) {
        ObjectNode root = header(settings, title);
        root.put("average_accuracy", NeedleEvaluation.averageAccuracy(cells));
        ArrayNode rows = root.putArray("cells");
        StringBuilder csv = new StringBuilder("context_length,depth_percent,score\n");
        for (CellScore c : cells) {
            rows.addObject().put("context_length", c.contextLength()).put("depth_percent", c.depthPercent())
                    .put("score", c.score()).put("samples", c.samples());
            csv.append(String.format(Locale.ROOT, "%d,%d,%s%n", c.contextLength(), c.depthPercent(), c.score()));
        }
        write(root, csv);
        if (plot) {
            NeedleHeatMap.write(png(), title, cells);
        }
    }

    /** The perplexity evaluation's files. */
    public void writePerplexity(Map<String, Object> settings, List<PerplexityPoint> points, String title,
                                String seriesName, boolean plot) {
        ObjectNode root = header(settings, title);
        root.put("series", seriesName);
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
        if (plot) {
            PerplexityPlot.write(png(), title, seriesName, points);
        }
    }

    /** Draws the plot of a results JSON this class wrote, beside it; returns the PNG's path. */
    public static Path redraw(Path json) {
        JsonNode root;
        try {
            root = JSON.readTree(json.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read results " + json, e);
        }
        String file = json.getFileName().toString();
        ResultFiles files = new ResultFiles(json.toAbsolutePath().getParent(),
                file.endsWith(".json") ? file.substring(0, file.length() - 5) : file);
        String title = root.path("title").asText(file);
        if (root.has("cells")) {
            List<CellScore> cells = new ArrayList<>();
            for (JsonNode c : root.get("cells")) {
                cells.add(new CellScore(c.get("context_length").asInt(), c.get("depth_percent").asInt() / 100.0,
                        c.get("score").asDouble(), c.get("samples").asInt()));
            }
            NeedleHeatMap.write(files.png(), title, cells);
        } else if (root.has("points")) {
            List<PerplexityPoint> points = new ArrayList<>();
            for (JsonNode p : root.get("points")) {
                points.add(new PerplexityPoint(p.get("context_length").asInt(), p.get("tokens").asLong(),
                        p.get("windows").asInt(), p.get("perplexity").asDouble(),
                        p.get("window_mean_perplexity").asDouble()));
            }
            PerplexityPlot.write(files.png(), title, root.path("series").asText(title), points);
        } else {
            throw new IllegalArgumentException(json + " holds neither needle cells nor perplexity points");
        }
        return files.png();
    }

    private static ObjectNode header(Map<String, Object> settings, String title) {
        ObjectNode root = JSON.createObjectNode();
        root.put("title", title);
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
