package io.easycontext.runtime.eval.ppl;

/**
 * The perplexity at one context length.
 *
 * @param perplexity        token-weighted ({@link PerplexityTally#perplexity()})
 * @param windowMeanPerplexity EasyContext's mean of window means, for comparison with its numbers
 */
public record PerplexityPoint(int contextLength, long tokens, int windows, double perplexity,
                              double windowMeanPerplexity) {
}
