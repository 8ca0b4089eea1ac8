package io.easycontext.runtime.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.easycontext.runtime.eval.model.ShardedEvalModel;
import io.easycontext.runtime.eval.needle.CellScore;
import io.easycontext.runtime.eval.needle.NeedleEvaluation;
import io.easycontext.runtime.eval.needle.NeedleGrid;
import io.easycontext.runtime.eval.needle.NeedleSettings;
import io.easycontext.runtime.eval.needle.NeedleTemplate;
import io.easycontext.runtime.eval.report.ResultFiles;
import io.easycontext.runtime.model.LlamaModel;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.tokenizer.Tokenizer;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code eval-needle}: EasyContext's needle-in-a-haystack test, each prompt one forward pass shared among the ranks.
 * One JSON line per cell on stdout and a last one with the average accuracy and the files written (JSON, CSV and
 * the heat map); logs on stderr.
 */
public final class EvalNeedleCommand implements Command {

    @Override
    public String name() {
        return "eval-needle";
    }

    @Override
    public String summary() {
        return "needle-in-a-haystack accuracy over context lengths × depths, with a heat map";
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) {
        Flags flags = new Flags(args);
        EvalOptions options = EvalOptions.read(flags);
        NeedleGrid grid = Flags.usage(() -> new NeedleGrid(flags.integer("min-context-length", 1000),
                flags.integer("max-context-length", 4000), flags.integer("context-interval", 1000),
                flags.number("depth-interval", 0.1)));
        String haystack = flags.string("haystack-dir", null);
        NeedleSettings settings = new NeedleSettings(grid, flags.integer("num-samples", 1),
                flags.integer("rnd-number-digits", 7), flags.integer("num-distractor", 0),
                haystack == null ? null : Path.of(haystack),
                Flags.usage(() -> NeedleTemplate.named(flags.string("template", "magic-number"))),
                options.seed());
        boolean plot = flags.bool("plot", true);
        flags.finish();

        err.printf(Locale.ROOT, "eval-needle: %s on %s (%s); lengths %s, depths %s, %d samples per cell%n",
                options.model().value(), options.devices(), options.parallel(), grid.lengths(), grid.depths(),
                settings.numSamples());
        long start = System.nanoTime();
        ObjectMapper json = new ObjectMapper();
        List<CellScore> cells;
        try (Tokenizer tokenizer = options.openTokenizer()) {
            NeedleEvaluation evaluation = Flags.usage(() -> settings.evaluation(tokenizer));
            cells = options.devices().run((backend, world) -> {
                try (LlamaWeights weights = options.weights(backend)) {
                    LlamaModel model = new LlamaModel(weights, LlamaModel.Options.DEFAULTS);
                    return evaluation.run(new ShardedEvalModel(backend, model, world, options.parallel()), cell -> {
                        if (world.rank() == 0) {
                            out.println(cellJson(json, cell));
                            out.flush();
                        }
                    });
                }
            }).get(0);
        }
        double average = NeedleEvaluation.averageAccuracy(cells);
        ResultFiles files = new ResultFiles(options.outputDir(), "needle-" + options.modelName());
        Map<String, Object> described = new LinkedHashMap<>(options.describe());
        described.putAll(settings.describe());
        files.writeNeedle(described, cells, String.format(Locale.ROOT,
                "Needle in a haystack: %s, average accuracy %.1f%%", options.modelName(), 100 * average), plot);
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("average_accuracy", average);
        summary.put("json", files.json().toString());
        summary.put("csv", files.csv().toString());
        if (plot) {
            summary.put("heatmap", files.png().toString());
        }
        out.println(EvalOptions.json(json, summary));
        err.printf(Locale.ROOT, "eval-needle: average accuracy %.4f over %d cells in %.1f s; results %s%n", average,
                cells.size(), (System.nanoTime() - start) / 1e9, files.json());
        return 0;
    }

    /** A cell as one JSON line, as {@code eval-needle} and {@code passkey} print it. */
    static String cellJson(ObjectMapper json, CellScore cell) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("context_length", cell.contextLength());
        m.put("depth_percent", cell.depthPercent());
        m.put("score", cell.score());
        return EvalOptions.json(json, m);
    }
}
