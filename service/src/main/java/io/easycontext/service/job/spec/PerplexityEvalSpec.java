package io.easycontext.service.job.spec;

import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Size;

/**
 * A perplexity evaluation over growing context lengths.
 *
 * @param tokensStep the step from one evaluated length to the next
 * @param truncate the runtime's {@code --truncate}: cut documents longer than {@code maxTokens} down to it
 * @param dataset a tokenized dataset to evaluate on; null uses the runtime's own
 */
@RangeOrder(min = "minTokens", max = "maxTokens")
public record PerplexityEvalSpec(
        @NotBlank @Size(max = 1024) String model,
        @NotNull @Min(1) Integer minTokens,
        @NotNull @Min(1) Integer maxTokens,
        @NotNull @Min(1) Integer tokensStep,
        Boolean truncate,
        @Size(max = 1024) String dataset) implements KindSpec {

    public PerplexityEvalSpec {
        truncate = truncate != null && truncate;
    }
}
