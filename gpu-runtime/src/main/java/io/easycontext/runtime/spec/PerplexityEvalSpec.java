package io.easycontext.runtime.spec;

import io.easycontext.runtime.data.Documents;
import io.easycontext.runtime.parallel.ParallelMode;

import java.nio.file.Files;
import java.util.List;

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
        devices = EvalFields.devices(devices);
        parallelMode = EvalFields.parallelMode(parallelMode, devices);
        dtype = EvalFields.dtype(dtype);
        seed = EvalFields.seed(seed);
        plot = EvalFields.plot(plot);
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
        if (dataset != null && !EvalFields.isPath(dataset, p -> Files.exists(p) && Documents.isDocuments(p))) {
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

    /** For code that sets a few fields: tests, clients in Java. */
    public static final class Builder extends EvalSpecBuilder<Builder> {
        private Integer minTokens;
        private Integer maxTokens;
        private Integer tokensStep;
        private Integer slidingWindow;
        private Boolean truncate;
        private String dataset;
        private Integer samples;
        private Integer datasetMinTokens;

        private Builder() {
        }

        public Builder minTokens(Integer v) { minTokens = v; return this; }
        public Builder maxTokens(Integer v) { maxTokens = v; return this; }
        public Builder tokensStep(Integer v) { tokensStep = v; return this; }
        public Builder slidingWindow(Integer v) { slidingWindow = v; return this; }
        public Builder truncate(Boolean v) { truncate = v; return this; }
        public Builder dataset(String v) { dataset = v; return this; }
        public Builder samples(Integer v) { samples = v; return this; }
        public Builder datasetMinTokens(Integer v) { datasetMinTokens = v; return this; }

        @Override
        public PerplexityEvalSpec build() {
            return new PerplexityEvalSpec(model, minTokens, maxTokens, tokensStep, slidingWindow, truncate, dataset,
                    samples, datasetMinTokens, tokenizer, ropeTheta, devices, parallelMode, ulyssesDegree, ringDegree,
                    dtype, seed, plot);
        }
    }
}
