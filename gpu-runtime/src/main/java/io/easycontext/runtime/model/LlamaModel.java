package io.easycontext.runtime.model;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A Llama-family causal language model with Hugging Face {@code LlamaForCausalLM} semantics, trained by
 * explicit forward and backward passes over backend ops. It sees only its local tokens: the
 * {@link AttentionOp} hides whether other ranks hold the rest of the sequence.
 *
 * <p>Targets are given already shifted (target {@code i} is the token after input {@code i}), as EasyContext
 * prepares them before sharding; {@value #IGNORE_INDEX} marks positions without a loss.
 */
public final class LlamaModel {

    public static final int IGNORE_INDEX = LmHeadLoss.IGNORE_INDEX;

    /**
     * @param activationCheckpointing keep only each layer's input in the forward and recompute the layer in the
     *                                backward, trading a second forward for memory linear in the layer count
     * @param lossChunkTokens         tokens per chunk of the fused lm_head + cross-entropy
     * @param mlpChunkTokens          tokens whose MLP intermediates exist at once when they need not be kept: with
     *                                checkpointing the backward recomputes them chunk by chunk, at no extra FLOPs
     * @param offloadedCheckpoints    with checkpointing, how many layers (the first ones) park their input in host
     *                                memory ({@link Backend#park}) between the forward and the backward, each
     *                                fetched back while the layer after it runs its backward
     * @param keptAttentionLayers     with checkpointing, how many layers (the last ones) also keep their attention
     *                                output and its log-sum-exp on the device, so that their recomputation runs no
     *                                attention forward (at long context the costliest op, and in the
     *                                sequence-parallel modes all of a layer's communication); more than the layers
     *                                means all
     */
    public record Options(boolean activationCheckpointing, int lossChunkTokens, int mlpChunkTokens,
                          int offloadedCheckpoints, int keptAttentionLayers) {
        public static final int DEFAULT_MLP_CHUNK_TOKENS = 4096;
        public static final Options DEFAULTS = new Options(true, 1024);

        public Options {
            if (lossChunkTokens <= 0) {
                throw new IllegalArgumentException("lossChunkTokens must be positive, got " + lossChunkTokens);
            }
            if (mlpChunkTokens <= 0) {
                throw new IllegalArgumentException("mlpChunkTokens must be positive, got " + mlpChunkTokens);
            }
            if (offloadedCheckpoints < 0 || (offloadedCheckpoints > 0 && !activationCheckpointing)) {
                throw new IllegalArgumentException("offloadedCheckpoints must be 0, or positive with activation "
                        + "checkpointing, got " + offloadedCheckpoints);
            }
            if (keptAttentionLayers < 0 || (keptAttentionLayers > 0 && !activationCheckpointing)) {
                throw new IllegalArgumentException("keptAttentionLayers must be 0, or positive with activation "
                        + "checkpointing, got " + keptAttentionLayers);
            }
        }

        public Options(boolean activationCheckpointing, int lossChunkTokens, int mlpChunkTokens,
                       int offloadedCheckpoints) {
            this(activationCheckpointing, lossChunkTokens, mlpChunkTokens, offloadedCheckpoints, 0);
        }

        public Options(boolean activationCheckpointing, int lossChunkTokens, int mlpChunkTokens) {
            this(activationCheckpointing, lossChunkTokens, mlpChunkTokens, 0);
        }

        public Options(boolean activationCheckpointing, int lossChunkTokens) {
            this(activationCheckpointing, lossChunkTokens, DEFAULT_MLP_CHUNK_TOKENS);
        }

        public Options withOffloadedCheckpoints(int layers) {
            return new Options(activationCheckpointing, lossChunkTokens, mlpChunkTokens, layers, keptAttentionLayers);
        }

        public Options withKeptAttentionLayers(int layers) {
            return new Options(activationCheckpointing, lossChunkTokens, mlpChunkTokens, offloadedCheckpoints, layers);
        }
    }

    private final LlamaConfig config;
    private final LlamaWeights weights;
    private final ParameterUnits units;
    private final Options options;

    public LlamaModel(LlamaWeights weights, Options options) {
        this.config = weights.config();
        this.weights = weights;
        this.units = ParameterUnits.resident(weights);
        this.options = options;
    }

    /**
     * A model that {@link #forwardBackward trains} on parameters reached unit by unit through {@code units} (ZeRO
     * stages 2 and 3, where no rank holds every gradient, or every value). It has no {@link #weights()} and
     * cannot evaluate.
     */
    public LlamaModel(LlamaConfig config, ParameterUnits units, Options options) {
        this.config = config;
        this.weights = null;
        this.units = units;
        this.options = options;
    }

    public LlamaConfig config() {
        return config;
    }

    /** Every parameter, resident; null for a model built on {@link ParameterUnits}. */
    public LlamaWeights weights() {
        return weights;
    }

    public Options options() {
        return options;
    }

    /** Targets that carry a loss: the {@code globalTargetCount} of a step is this summed over its micro-batches and ranks. */
    public static long countTargets(int[] targets) {
        long n = 0;
        for (int t : targets) {
            if (t != IGNORE_INDEX) {
                n++;
            }
        }
        return n;
    }

    /**
     * One forward and backward pass over the local tokens {@code [batch, t]} (flattened batch-major).
     * Accumulates into every parameter's gradient {@code ∂(Σ local losses)/∂θ / globalTargetCount}, so that the
     * gradients summed over ranks and micro-batches are those of the mean loss over all their targets.
     *
     * @param positionIds the tokens' global positions, which rope rotates by
     * @return the sum of the local per-token losses (not the mean), for the caller to reduce across ranks
     */
    public double forwardBackward(Backend b, int[] inputIds, int[] positionIds, int[] targets, int batch,
                                  long globalTargetCount, AttentionOp attention) {
        if (globalTargetCount <= 0) {
            throw new IllegalArgumentException("globalTargetCount must be positive, got " + globalTargetCount);
        }
        LlamaConfig c = config();
        ParameterUnits u = units;
        try (Inputs in = Inputs.upload(b, c, inputIds, positionIds, targets, batch, attention,
                options.mlpChunkTokens());
             KeptAttentions kept = new KeptAttentions(c.numHiddenLayers())) {
            DecoderLayer.Step s = in.step();
            int n = s.tokens();
            boolean checkpointing = options.activationCheckpointing();
            int layers = c.numHiddenLayers();
            int embeddingUnit = u.embeddingUnit();
            int normUnit = u.normUnit();
            int headUnit = u.lmHeadUnit();
            Tensor x = s.floats(n, c.hiddenSize());
            u.gather(embeddingUnit);
            u.prefetch(layers > 0 ? u.layerUnit(0) : normUnit);
            b.embeddingForward(u.embedding().value(), in.ids(), x);
            u.release(embeddingUnit);
            int offloaded = checkpointing ? Math.min(options.offloadedCheckpoints(), layers) : 0;
            int keptFrom = checkpointing ? layers - Math.min(options.keptAttentionLayers(), layers) : layers;
            Tensor[] layerInputs = new Tensor[layers];
            Backend.Parked[] parked = new Backend.Parked[layers];
            List<DecoderLayer.Activations> saved = new ArrayList<>();
            for (int l = 0; l < layers; l++) {
                int unit = u.layerUnit(l);
                u.gather(unit);
                // Gathered while this layer computes.
                u.prefetch(l + 1 < layers ? u.layerUnit(l + 1) : normUnit);
                Tensor y = s.floats(n, c.hiddenSize());
                DecoderLayer.Activations a = DecoderLayer.forward(s, u.layer(l), x, y, !checkpointing);
                u.release(unit);
                if (checkpointing && l >= keptFrom) {
                    kept.layers[l] = a.keepAttention(s);
                } else if (checkpointing) {
                    a.close();
                } else {
                    saved.add(a);
                }
                if (l < offloaded) {
                    parked[l] = b.park(x);
                    x.close();
                } else {
                    layerInputs[l] = x;
                }
                x = y;
            }

            Tensor dResidual = s.floats(n, c.hiddenSize());
            double loss;
            u.gather(normUnit);
            u.gather(headUnit);
            if (layers > 0) {
                u.prefetch(u.layerUnit(layers - 1));
            }
            u.gradients(headUnit);
            u.gradients(normUnit);
            try (Tensor normed = s.floats(n, c.hiddenSize());
                 Tensor rstd = b.allocate(b.statsType(), n);
                 Tensor dNormed = s.floats(n, c.hiddenSize())) {
                b.rmsNormForward(x, u.norm().value(), c.rmsNormEps(), normed, rstd);
                loss = LmHeadLoss.run(b, normed, in.targets(), u.lmHead(), 1.0 / globalTargetCount,
                        options.lossChunkTokens(), dNormed);
                b.rmsNormBackward(dNormed, x, u.norm().value(), rstd, dResidual, u.norm().grad());
            }
            x.close();
            u.release(headUnit);
            if (headUnit != embeddingUnit) {
                u.reduce(headUnit);
            }
            u.release(normUnit);
            u.reduce(normUnit);

            for (int l = layers - 1; l >= 0; l--) {
                int unit = u.layerUnit(l);
                u.gather(unit);
                if (l > 0) {
                    u.prefetch(u.layerUnit(l - 1));
                }
                u.gradients(unit);
                Tensor input = l < offloaded ? parked[l].restore() : layerInputs[l];
                if (l - 1 >= 0 && l - 1 < offloaded) {
                    // Travels back while this layer computes its backward.
                    parked[l - 1].prefetch();
                }
                LlamaWeights.Layer w = u.layer(l);
                try (DecoderLayer.Activations a = checkpointing
                        ? DecoderLayer.forward(s, w, input, null, false, kept.layers[l])
                        : saved.get(l)) {
                    DecoderLayer.backward(s, w, a, dResidual);
                }
                input.close();
                u.release(unit);
                u.reduce(unit);
            }
            u.gradients(embeddingUnit);
            b.embeddingBackward(dResidual, in.ids(), u.embedding().grad());
            u.reduce(embeddingUnit);
            dResidual.close();
            return loss;
        }
    }

    /** The weights of an evaluating model, which must hold every parameter. */
    private LlamaWeights resident() {
        if (weights == null) {
            throw new IllegalStateException("a model built on parameter units only trains; it cannot evaluate");
        }
        return weights;
    }

    /** The forward pass alone (evaluation): the sum of the local per-token losses. Nothing is kept. */
    public double loss(Backend b, int[] inputIds, int[] positionIds, int[] targets, int batch, AttentionOp attention) {
        try (Inputs in = Inputs.upload(b, config(), inputIds, positionIds, targets, batch, attention,
                     options.mlpChunkTokens());
             Tensor normed = finalHidden(in)) {
            return LmHeadLoss.run(b, normed, in.targets(), resident().lmHead(), 0, options.lossChunkTokens(), null);
        }
    }

    /**
     * The forward pass alone, with the output projection only at the local token indices {@code rows} (into the
     * flattened {@code [batch, t]} tokens): their next-token logits {@code [rows.length][vocab]}. Evaluation that
     * scores a few positions of a long sequence (a needle's answer) so never holds {@code [tokens, vocab]} logits,
     * and nothing is kept for a backward.
     */
    public double[][] logitsAt(Backend b, int[] inputIds, int[] positionIds, int batch, int[] rows,
                               AttentionOp attention) {
        int h = config().hiddenSize();
        int vocab = config().vocabSize();
        for (int r : rows) {
            if (r < 0 || r >= inputIds.length) {
                throw new IllegalArgumentException("row " + r + " is outside the " + inputIds.length + " local tokens");
            }
        }
        double[][] logits = new double[rows.length][];
        if (rows.length == 0) {
            // Still a collective: a sequence-parallel attention needs every rank's forward.
            try (Inputs in = Inputs.upload(b, config(), inputIds, positionIds, null, batch, attention,
                options.mlpChunkTokens())) {
                finalHidden(in).close();
            }
            return logits;
        }
        try (Inputs in = Inputs.upload(b, config(), inputIds, positionIds, null, batch, attention,
                options.mlpChunkTokens());
             Tensor normed = finalHidden(in);
             Tensor picked = b.allocate(b.floatType(), rows.length, h);
             Tensor out = b.allocate(b.floatType(), rows.length, vocab)) {
            for (int i = 0; i < rows.length; i++) {
                b.copy(b.view(normed, (long) rows[i] * h, h), b.view(picked, (long) i * h, h));
            }
            b.matmul(picked, false, resident().lmHead().value(), true, out, 1, 0);
            double[] flat = b.download(out);
            for (int i = 0; i < rows.length; i++) {
                logits[i] = Arrays.copyOfRange(flat, i * vocab, (i + 1) * vocab);
            }
        }
        return logits;
    }

    /** Every layer and the final norm, keeping nothing but the result {@code [tokens, hidden]} (the caller's). */
    private Tensor finalHidden(Inputs in) {
        DecoderLayer.Step s = in.step();
        Backend b = s.backend();
        LlamaConfig c = config();
        int n = s.tokens();
        Tensor x = s.floats(n, c.hiddenSize());
        b.embeddingForward(resident().embedding().value(), in.ids(), x);
        for (int l = 0; l < c.numHiddenLayers(); l++) {
            Tensor y = s.floats(n, c.hiddenSize());
            DecoderLayer.forward(s, resident().layer(l), x, y, false).close();
            x.close();
            x = y;
        }
        Tensor normed = s.floats(n, c.hiddenSize());
        try (Tensor rstd = b.allocate(b.statsType(), n)) {
            b.rmsNormForward(x, resident().norm().value(), c.rmsNormEps(), normed, rstd);
        }
        x.close();
        return normed;
    }

    /** Each layer's kept attention, null where none; closes what a failed step's backward has not taken. */
    private static final class KeptAttentions implements AutoCloseable {
        final DecoderLayer.KeptAttention[] layers;

        KeptAttentions(int layers) {
            this.layers = new DecoderLayer.KeptAttention[layers];
        }

        @Override
        public void close() {
            for (DecoderLayer.KeptAttention k : layers) {
                if (k != null) {
                    k.close();
                }
            }
        }
    }

    /** A step's host inputs on the device; {@code targets} is null for a forward without a loss. */
    private record Inputs(Tensor ids, Tensor targets, DecoderLayer.Step step) implements AutoCloseable {

        static Inputs upload(Backend b, LlamaConfig c, int[] inputIds, int[] positionIds, int[] targets, int batch,
                             AttentionOp attention, int mlpChunkTokens) {
            int n = inputIds.length;
            if (batch <= 0 || n == 0 || n % batch != 0) {
                throw new IllegalArgumentException(n + " tokens do not split into a batch of " + batch);
            }
            if (positionIds.length != n || (targets != null && targets.length != n)) {
                throw new IllegalArgumentException(n + " input ids but " + positionIds.length + " position ids and "
                        + (targets == null ? 0 : targets.length) + " targets");
            }
            for (int p : positionIds) {
                if (p < 0) {
                    throw new IllegalArgumentException("negative position id " + p);
                }
            }
            Tensor ids = b.allocate(DType.I32, n);
            b.uploadInts(ids, inputIds);
            Tensor targetTensor = null;
            if (targets != null) {
                targetTensor = b.allocate(DType.I32, n);
                b.uploadInts(targetTensor, targets);
            }
            Tensor positions = b.allocate(DType.I32, batch, n / batch);
            b.uploadInts(positions, positionIds);
            float[] inv = Rotary.inverseFrequencies(c);
            Tensor invFreq = b.allocate(DType.F32, inv.length);
            b.upload(invFreq, inv);
            return new Inputs(ids, targetTensor,
                    new DecoderLayer.Step(b, c, batch, n / batch, positions, invFreq, attention, mlpChunkTokens));
        }

        @Override
        public void close() {
            ids.close();
            if (targets != null) {
                targets.close();
            }
            step.positions().close();
            step.invFreq().close();
        }
    }
}
