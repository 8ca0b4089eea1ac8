package io.easycontext.service.execution;

import io.easycontext.runtime.model.LlamaConfig;

/**
 * FLOPs of one training step per token, for MFU: {@code 6·N} for the forward and backward matrix products over
 * the parameters (PaLM's appendix B), plus causal attention's score and value products, {@code 6·L·q·s}
 * (12·L·q·s for full attention, halved by the causal mask), with {@code q} the query width and {@code s} the
 * sequence length. Activation checkpointing's recomputation is not useful work and is not counted.
 */
final class ModelFlops {

    private ModelFlops() {
    }

    static double perToken(LlamaConfig model, int seqLength) {
        // The input embedding is a lookup, not a product; a tied one is also the LM head, which is a product.
        double lookup = model.tieWordEmbeddings() ? 0 : (double) model.vocabSize() * model.hiddenSize();
        double parameters = model.parameterCount() - lookup;
        double attention = 6.0 * model.numHiddenLayers() * model.qDim() * seqLength;
        return 6.0 * parameters + attention;
    }
}
