package io.easycontext.runtime.eval.ppl;

import io.easycontext.runtime.eval.model.EvalModel.Nll;

/**
 * Adds up the windows of one context length two ways. {@link #perplexity()} is token-weighted: the exponential of
 * the mean negative log-likelihood over every scored token, so a document counts by its length. EasyContext instead
 * reports {@link #meanOfWindowMeans()}: the exponential of the mean over windows of each window's mean, which gives a
 * short last window of a document as much weight as a full one (and, over ranks, averages the ranks' means).
 */
public final class PerplexityTally {

    private double nllSum;
    private long tokens;
    private double windowMeanSum;
    private int windows;

    public void add(Nll window) {
        if (window.tokens() == 0) {
            return;
        }
        nllSum += window.sum();
        tokens += window.tokens();
        windowMeanSum += window.sum() / window.tokens();
        windows++;
    }

    public long tokens() {
        return tokens;
    }

    public int windows() {
        return windows;
    }

    public double perplexity() {
        return Math.exp(nllSum / tokens);
    }

    public double meanOfWindowMeans() {
        return Math.exp(windowMeanSum / windows);
    }
}
