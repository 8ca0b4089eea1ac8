package io.easycontext.runtime.model;

/**
 * FLOPs of one training step per token, for MFU: {@code 6·N} for the forward and backward matrix products over
 * the parameters (PaLM's appendix B), plus causal attention's score and value products, {@code 6·L·q·s}
 * (12·L·q·s for full attention, halved by the causal mask), with {@code q} the query width and {@code s} the
 * sequence length. Activation checkpointing's recomputation is not useful work and is not counted. The MFU of the
 * service's progress and of {@code train}'s step lines; the benchmarks' side-by-side tables use the PyTorch peer's
 * simpler convention instead (6·all parameters + 6·L·s·hidden), to compare like with like.
 */
public final class ModelFlops {

    private ModelFlops() {
    }

    /** Model FLOP/s achieved over the peak of {@code gpus} GPUs of {@code peakFlops} each. */
    public static double utilisation(LlamaConfig model, int seqLength, double tokensPerSecond, int gpus,
                                     double peakFlops) {
        return tokensPerSecond * perToken(model, seqLength) / (peakFlops * gpus);
    }

    public static double perToken(LlamaConfig model, int seqLength) {
        // The input embedding is a lookup, not a product; a tied one is also the LM head, which is a product.
        double lookup = model.tieWordEmbeddings() ? 0 : (double) model.vocabSize() * model.hiddenSize();
        double parameters = model.parameterCount() - lookup;
        double attention = 6.0 * model.numHiddenLayers() * model.qDim() * seqLength;
        return 6.0 * parameters + attention;
    }
}
