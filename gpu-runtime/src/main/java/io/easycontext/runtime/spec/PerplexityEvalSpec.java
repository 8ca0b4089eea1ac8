package io.easycontext.runtime.spec;

import io.easycontext.runtime.data.Documents;
import io.easycontext.runtime.parallel.ParallelMode;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * A perplexity evaluation over growing context lengths ({@code eval-ppl}). Fields left null take the command's
 * defaults.
 *
 * @param tokensStep the step from one evaluated length to the next; null doubles the length each time, as EasyContext
 * @param slidingWindow the stride between windows of one length
 * @param truncate cut each document to one window instead of sliding over it
 * @param dataset a directory of {@code .txt} files or a {@code .jsonl} file of {@code text} or {@code input_ids};
 *     null uses the runtime's built-in filler text (a plumbing check, not a measurement)
 * @param samples keep at most this many documents; null keeps all
 * @param datasetMinTokens drop documents shorter than this
 */
public record PerplexityEvalSpec(
        String model,
        Integer minTokens,
        Integer maxTokens,
        Integer tokensStep,
        Integer slidingWindow,
        Boolean truncate,
        String dataset,
        Integer samples,
        Integer datasetMinTokens,
        String tokenizer,
        Double ropeTheta,
        String devices,
        ParallelMode parallelMode,
        Integer ulyssesDegree,
        Integer ringDegree,
        String dtype,
        Long seed,
        Boolean plot) implements EvalSpec {

    public PerplexityEvalSpec {
        minTokens = minTokens == null ? 256 : minTokens;
        maxTokens = maxTokens == null ? 8192 : maxTokens;
        slidingWindow = slidingWindow == null ? 256 : slidingWindow;
        truncate = truncate != null && truncate;
        datasetMinTokens = datasetMinTokens == null ? 0 : datasetMinTokens;
        devices = devices == null ? Devices.DEFAULT : devices;
        parallelMode = parallelMode == null ? EvalFields.defaultMode(devices) : parallelMode;
        dtype = dtype == null ? "f32" : dtype.toLowerCase(Locale.ROOT);
        seed = seed == null ? DEFAULT_SEED : seed;
        plot = plot == null || plot;
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public List<Violation> validate() {
        Checks checks = new Checks();
        EvalFields.check(checks, this);
        // A window holds BOS and at least one token to score.
        checks.atLeast("minTokens", minTokens, 2);
        checks.ordered("minTokens", minTokens, "maxTokens", maxTokens);
        checks.atLeast("tokensStep", tokensStep, 1);
        checks.atLeast("slidingWindow", slidingWindow, 1);
        checks.atLeast("samples", samples, 1);
        checks.atLeast("datasetMinTokens", datasetMinTokens, 0);
        checks.maxLength("dataset", dataset, TrainSpec.MAX_PATH);
        if (dataset != null && !isDocuments(dataset)) {
            checks.reject("dataset", "must be a directory of .txt files or a .jsonl file, not '" + dataset + "'");
        }
        return checks.violations();
    }

    @Override
    public List<List<String>> commandLines() {
        return List.of(EvalFields.render(CommandLine.of("eval-ppl")
                .flag("model", model)
                .flag("minTokens", minTokens)
                .flag("maxTokens", maxTokens)
                .flag("tokensStep", tokensStep)
                .flag("slidingWindow", slidingWindow)
                .flag("truncate", truncate)
                .flag("dataset", dataset)
                .flag("samples", samples)
                .flag("datasetMinTokens", datasetMinTokens), this)
                .args());
    }

    private static boolean isDocuments(String path) {
        try {
            Path p = Path.of(path);
            return Files.exists(p) && Documents.isDocuments(p);
        } catch (InvalidPathException e) {
            return false;
        }
    }

    /** For code that sets a few fields: tests, clients in Java. */
    public static final class Builder {
        private String model;
        private Integer minTokens;
        private Integer maxTokens;
        private Integer tokensStep;
        private Integer slidingWindow;
        private Boolean truncate;
        private String dataset;
        private Integer samples;
        private Integer datasetMinTokens;
        private String tokenizer;
        private Double ropeTheta;
        private String devices;
        private ParallelMode parallelMode;
        private Integer ulyssesDegree;
        private Integer ringDegree;
        private String dtype;
        private Long seed;
        private Boolean plot;

        private Builder() {
        }

        public Builder model(String v) { model = v; return this; }
        public Builder minTokens(Integer v) { minTokens = v; return this; }
        public Builder maxTokens(Integer v) { maxTokens = v; return this; }
        public Builder tokensStep(Integer v) { tokensStep = v; return this; }
        public Builder slidingWindow(Integer v) { slidingWindow = v; return this; }
        public Builder truncate(Boolean v) { truncate = v; return this; }
        public Builder dataset(String v) { dataset = v; return this; }
        public Builder samples(Integer v) { samples = v; return this; }
        public Builder datasetMinTokens(Integer v) { datasetMinTokens = v; return this; }
        public Builder tokenizer(String v) { tokenizer = v; return this; }
        public Builder ropeTheta(Double v) { ropeTheta = v; return this; }
        public Builder devices(String v) { devices = v; return this; }
        public Builder parallelMode(ParallelMode v) { parallelMode = v; return this; }
        public Builder ulyssesDegree(Integer v) { ulyssesDegree = v; return this; }
        public Builder ringDegree(Integer v) { ringDegree = v; return this; }
        public Builder dtype(String v) { dtype = v; return this; }
        public Builder seed(Long v) { seed = v; return this; }
        public Builder plot(Boolean v) { plot = v; return this; }

        public PerplexityEvalSpec build() {
            return new PerplexityEvalSpec(model, minTokens, maxTokens, tokensStep, slidingWindow, truncate, dataset,
                    samples, datasetMinTokens, tokenizer, ropeTheta, devices, parallelMode, ulyssesDegree, ringDegree,
                    dtype, seed, plot);
        }
    }
}
