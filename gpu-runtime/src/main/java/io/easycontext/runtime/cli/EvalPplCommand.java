package io.easycontext.runtime.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.easycontext.runtime.data.Documents;
import io.easycontext.runtime.eval.model.ShardedEvalModel;
import io.easycontext.runtime.eval.ppl.PerplexityEvaluation;
import io.easycontext.runtime.eval.ppl.PerplexityPoint;
import io.easycontext.runtime.eval.report.ResultFiles;
import io.easycontext.runtime.eval.text.Haystack;
import io.easycontext.runtime.model.LlamaModel;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.tokenizer.Tokenizer;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code eval-ppl}: EasyContext's perplexity over growing context lengths, each window one forward pass shared
 * among the ranks. Documents come from {@code --dataset} (a directory of {@code .txt} files, or a {@code .jsonl} file
 * of {@code text} or {@code input_ids}); without one, from the built-in filler. One JSON line per length on stdout and
 * a last one naming the files written (JSON, CSV and the plot); logs on stderr.
 */
public final class EvalPplCommand implements Command {

    @Override
    public String name() {
        return "eval-ppl";
    }

    @Override
    public String summary() {
        return "perplexity over growing context lengths, sliding window or truncated, with a plot";
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) {
        Flags flags = new Flags(args);
        EvalOptions options = EvalOptions.read(flags);
        int min = flags.integer("min-tokens", 256);
        int max = flags.integer("max-tokens", 8192);
        Integer step = flags.has("tokens-step") ? flags.integer("tokens-step", 0) : null;
        List<Integer> lengths = Flags.usage(() -> PerplexityEvaluation.lengths(min, max, step));
        int stride = flags.integer("sliding-window", 256);
        boolean truncate = flags.bool("truncate", false);
        String dataset = flags.string("dataset", null);
        int samples = flags.integer("samples", Integer.MAX_VALUE);
        int minDocTokens = flags.integer("dataset-min-tokens", 0);
        boolean plot = flags.bool("plot", true);
        flags.finish();

        List<PerplexityPoint> points;
        ObjectMapper json = new ObjectMapper();
        long start = System.nanoTime();
        try (Tokenizer tokenizer = options.openTokenizer()) {
            List<int[]> docs = documents(dataset, tokenizer, max, samples, minDocTokens);
            err.printf(Locale.ROOT, "eval-ppl: %s on %s (%s); %d documents, lengths %s, %s%n",
                    options.model().value(), options.devices(), options.parallel(), docs.size(), lengths,
                    truncate ? "truncated" : "sliding window " + stride);
            PerplexityEvaluation evaluation = Flags.usage(
                    () -> new PerplexityEvaluation(docs, stride, truncate, tokenizer.bos()));
            points = options.devices().run((backend, world) -> {
                try (LlamaWeights weights = options.weights(backend)) {
                    LlamaModel model = new LlamaModel(weights, LlamaModel.Options.DEFAULTS);
                    return evaluation.run(new ShardedEvalModel(backend, model, world, options.parallel()), lengths,
                            point -> {
                                if (world.rank() == 0) {
                                    out.println(pointJson(json, point));
                                    out.flush();
                                }
                            });
                }
            }).get(0);
        }
        ResultFiles files = new ResultFiles(options.outputDir(), "ppl-" + options.modelName());
        Map<String, Object> settings = new LinkedHashMap<>(options.describe());
        settings.put("dataset", dataset == null ? "built-in filler" : dataset);
        settings.put("sliding_window", stride);
        settings.put("truncate", truncate);
        files.writePerplexity(settings, points, "Perplexity by context length: " + options.modelName(),
                options.modelName(), plot);
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("json", files.json().toString());
        summary.put("csv", files.csv().toString());
        if (plot) {
            summary.put("plot", files.png().toString());
        }
        out.println(EvalOptions.json(json, summary));
        err.printf(Locale.ROOT, "eval-ppl: %d lengths in %.1f s; results %s%n", points.size(),
                (System.nanoTime() - start) / 1e9, files.json());
        return 0;
    }

    private static String pointJson(ObjectMapper json, PerplexityPoint p) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("context_length", p.contextLength());
        m.put("tokens", p.tokens());
        m.put("perplexity", p.perplexity());
        m.put("window_mean_perplexity", p.windowMeanPerplexity());
        return EvalOptions.json(json, m);
    }

    /**
     * Text documents encoded without special tokens (each window gets its own BOS, as in EasyContext), token
     * documents as given; those shorter than {@code minTokens} dropped, at most {@code samples} kept.
     */
    private static List<int[]> documents(String dataset, Tokenizer tokenizer, int maxTokens, int samples,
                                         int minTokens) {
        List<int[]> docs = new ArrayList<>();
        if (dataset == null) {
            docs.add(Haystack.filler(tokenizer, maxTokens).prefix(maxTokens));
            return docs;
        }
        Documents.read(Path.of(dataset), d -> {
            int[] ids = d.ids() != null ? d.ids() : tokenizer.encode(d.text());
            if (docs.size() < samples && ids.length >= minTokens) {
                docs.add(ids);
            }
        });
        if (docs.isEmpty()) {
            throw new Flags.UsageException("--dataset " + dataset + " has no document of at least " + minTokens
                    + " tokens");
        }
        return docs;
    }
}
