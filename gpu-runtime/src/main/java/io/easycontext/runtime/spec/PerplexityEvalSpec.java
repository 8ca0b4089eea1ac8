package io.easycontext.runtime.spec;

import java.util.List;

/**
 * A perplexity evaluation over growing context lengths ({@code eval-ppl}).
 *
 * @param tokensStep the step from one evaluated length to the next
 * @param truncate cut documents longer than {@code maxTokens} down to it
 * @param dataset a tokenized dataset to evaluate on; null uses the runtime's own
 */
public record PerplexityEvalSpec(
        String model,
        Integer minTokens,
        Integer maxTokens,
        Integer tokensStep,
        Boolean truncate,
        String dataset) implements RunSpec {

    public PerplexityEvalSpec {
        truncate = truncate != null && truncate;
    }

    @Override
    public List<Violation> validate() {
        Checks checks = new Checks();
        checks.notBlank("model", model);
        checks.maxLength("model", model, TrainSpec.MAX_PATH);
        NeedleEvalSpec.required(checks, "minTokens", minTokens);
        NeedleEvalSpec.required(checks, "maxTokens", maxTokens);
        NeedleEvalSpec.required(checks, "tokensStep", tokensStep);
        checks.ordered("minTokens", minTokens, "maxTokens", maxTokens);
        checks.maxLength("dataset", dataset, TrainSpec.MAX_PATH);
        return checks.violations();
    }

    @Override
    public List<List<String>> commandLines() {
        return List.of(CommandLine.of("eval-ppl")
                .flag("model", model)
                .flag("minTokens", minTokens)
                .flag("maxTokens", maxTokens)
                .flag("tokensStep", tokensStep)
                .flag("truncate", truncate)
                .flag("dataset", dataset)
                .args());
    }
}
