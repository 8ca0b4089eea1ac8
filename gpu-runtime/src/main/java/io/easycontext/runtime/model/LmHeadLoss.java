package io.easycontext.runtime.model;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.tensor.Tensor;

/**
 * The output projection fused with cross-entropy, over chunks of tokens, so that the {@code [tokens, vocab]}
 * logits never exist whole: at long context they would outweigh the rest of the activations.
 * Per chunk: {@code logits = h·Wᵀ}; in place {@code logits → dLogits}; {@code dh = dLogits·W};
 * {@code dW += dLogitsᵀ·h}.
 */
final class LmHeadLoss {

    /** Hugging Face's label for "no loss at this position". */
    static final int IGNORE_INDEX = -100;

    private LmHeadLoss() {
    }

    /**
     * Returns the summed loss of the kept targets; writes {@code dHidden} (when not null) and accumulates
     * {@code lmHead}'s gradient, both scaled by {@code gradScale}. Without {@code dHidden} it is forward only.
     */
    static double run(Backend b, Tensor hidden, Tensor targets, Parameter lmHead, double gradScale, int chunkTokens,
                      Tensor dHidden) {
        int n = hidden.dim(0);
        int h = hidden.dim(1);
        int vocab = lmHead.value().dim(0);
        double loss = 0;
        try (Tensor logits = b.allocate(b.floatType(), Math.min(chunkTokens, n), vocab)) {
            for (int start = 0; start < n; start += chunkTokens) {
                int rows = Math.min(chunkTokens, n - start);
                Tensor hc = b.view(hidden, (long) start * h, rows, h);
                Tensor lc = b.view(logits, 0, rows, vocab);
                b.matmul(hc, false, lmHead.value(), true, lc, 1, 0);
                loss += b.crossEntropyForwardBackward(lc, b.view(targets, start, rows), IGNORE_INDEX, gradScale);
                if (dHidden != null) {
                    b.matmul(lc, false, lmHead.value(), false, b.view(dHidden, (long) start * h, rows, h), 1, 0);
                    b.matmul(lc, true, hc, false, lmHead.grad(), 1, 1);
                }
            }
        }
        return loss;
    }
}
