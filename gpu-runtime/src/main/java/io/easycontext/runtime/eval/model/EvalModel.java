package io.easycontext.runtime.eval.model;

import java.util.Map;

/**
 * A language model as the evaluations use it: one whole sequence at a time, forward only. Every rank of a
 * sequence-parallel group makes each call together with the same sequence and answers for the tokens it holds;
 * {@link #sumOverRanks} turns a rank's part into the whole.
 */
public interface EvalModel {

    /** The next-token logits at those of {@code positions} (into {@code sequence}) that this rank holds. */
    Map<Integer, double[]> logitsAt(int[] sequence, int[] positions);

    /**
     * The negative log-likelihood of those targets this rank holds: {@code targets[i]} is the token after
     * {@code sequence[i]}, or {@link io.easycontext.runtime.model.LlamaModel#IGNORE_INDEX}.
     */
    Nll nll(int[] sequence, int[] targets);

    /** {@code value} summed over the ranks that share the sequence; the same on all of them. */
    double sumOverRanks(double value);

    /** A summed negative log-likelihood and the number of tokens it covers. */
    record Nll(double sum, long tokens) {
        public Nll plus(Nll other) {
            return new Nll(sum + other.sum, tokens + other.tokens);
        }
    }
}
