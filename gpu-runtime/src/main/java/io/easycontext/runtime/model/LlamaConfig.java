package io.easycontext.runtime.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The shape of a Llama-family decoder, with the field names and defaults of Hugging Face's {@code LlamaConfig}.
 * {@code headDim} may differ from {@code hiddenSize / numAttentionHeads} when a {@code config.json} says so.
 */
public record LlamaConfig(
        int hiddenSize,
        int intermediateSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int numKeyValueHeads,
        int headDim,
        int vocabSize,
        double rmsNormEps,
        double ropeTheta,
        int maxPositionEmbeddings,
        boolean tieWordEmbeddings,
        double initializerRange,
        RopeScaling ropeScaling) {

    /** Hugging Face's defaults for the optional fields. */
    public static final double DEFAULT_RMS_NORM_EPS = 1e-6;
    public static final double DEFAULT_ROPE_THETA = 10000;
    public static final int DEFAULT_MAX_POSITIONS = 2048;
    public static final double DEFAULT_INITIALIZER_RANGE = 0.02;

    public static final List<String> PRESETS = List.of("tiny", "tiny-mha", "small", "llama2-7b", "llama3-8b");

    public LlamaConfig {
        positive("hidden_size", hiddenSize);
        positive("intermediate_size", intermediateSize);
        positive("num_hidden_layers", numHiddenLayers);
        positive("num_attention_heads", numAttentionHeads);
        positive("num_key_value_heads", numKeyValueHeads);
        positive("head_dim", headDim);
        positive("vocab_size", vocabSize);
        positive("max_position_embeddings", maxPositionEmbeddings);
        if (numAttentionHeads % numKeyValueHeads != 0) {
            throw new IllegalArgumentException("num_attention_heads " + numAttentionHeads
                    + " is not a multiple of num_key_value_heads " + numKeyValueHeads);
        }
        if (headDim % 2 != 0) {
            throw new IllegalArgumentException("head_dim " + headDim + " must be even for rotary embeddings");
        }
        if (!(rmsNormEps > 0) || !(ropeTheta > 1) || !(initializerRange > 0)) {
            throw new IllegalArgumentException("rms_norm_eps " + rmsNormEps + ", rope_theta " + ropeTheta
                    + " and initializer_range " + initializerRange + " must be positive (theta above 1)");
        }
    }

    /** A plain config: head_dim = hidden/heads and every optional field at its default. */
    public static LlamaConfig of(int hidden, int intermediate, int layers, int heads, int kvHeads, int vocab) {
        if (hidden % heads != 0) {
            throw new IllegalArgumentException("hidden_size " + hidden + " is not a multiple of num_attention_heads "
                    + heads + "; give head_dim explicitly");
        }
        return new LlamaConfig(hidden, intermediate, layers, heads, kvHeads, hidden / heads, vocab,
                DEFAULT_RMS_NORM_EPS, DEFAULT_ROPE_THETA, DEFAULT_MAX_POSITIONS, false, DEFAULT_INITIALIZER_RANGE,
                null);
    }

    /** One of {@link #PRESETS}: test-sized models, and the shapes of real ones for memory planning. */
    public static LlamaConfig preset(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "tiny" -> of(64, 128, 2, 4, 2, 256);
            case "tiny-mha" -> of(64, 128, 2, 4, 4, 256);
            case "small" -> of(128, 352, 4, 4, 2, 512);
            case "llama2-7b" -> of(4096, 11008, 32, 32, 32, 32000).withRope(10000, 4096).withEps(1e-5);
            case "llama3-8b" -> of(4096, 14336, 32, 32, 8, 128256).withRope(500000, 8192).withEps(1e-5);
            default -> throw new IllegalArgumentException("unknown model preset '" + name + "'; known: " + PRESETS);
        };
    }

    /** Reads a Hugging Face {@code config.json}; unknown fields are ignored. */
    public static LlamaConfig fromJson(Path file) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read model config " + file, e);
        }
        return new JsonFields(file, root).config();
    }

    public int qDim() {
        return numAttentionHeads * headDim;
    }

    public int kvDim() {
        return numKeyValueHeads * headDim;
    }

    /** Parameters in the model, counting a tied embedding once. */
    public long parameterCount() {
        long perLayer = (long) hiddenSize * (2L * qDim() + 2L * kvDim()) + 3L * hiddenSize * intermediateSize
                + 2L * hiddenSize;
        long embeddings = (long) vocabSize * hiddenSize * (tieWordEmbeddings ? 1 : 2);
        return embeddings + numHiddenLayers * perLayer + hiddenSize;
    }

    public LlamaConfig withLayers(int layers) {
        return new LlamaConfig(hiddenSize, intermediateSize, layers, numAttentionHeads, numKeyValueHeads, headDim,
                vocabSize, rmsNormEps, ropeTheta, maxPositionEmbeddings, tieWordEmbeddings, initializerRange,
                ropeScaling);
    }

    public LlamaConfig withTiedEmbeddings(boolean tied) {
        return new LlamaConfig(hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads, numKeyValueHeads,
                headDim, vocabSize, rmsNormEps, ropeTheta, maxPositionEmbeddings, tied, initializerRange, ropeScaling);
    }

    public LlamaConfig withInitializerRange(double range) {
        return new LlamaConfig(hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads, numKeyValueHeads,
                headDim, vocabSize, rmsNormEps, ropeTheta, maxPositionEmbeddings, tieWordEmbeddings, range,
                ropeScaling);
    }

    /** Long-context training raises theta and the position limit together (EasyContext's recipe). */
    public LlamaConfig withRope(double theta, int maxPositions) {
        return new LlamaConfig(hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads, numKeyValueHeads,
                headDim, vocabSize, rmsNormEps, theta, maxPositions, tieWordEmbeddings, initializerRange, ropeScaling);
    }

    public LlamaConfig withEps(double eps) {
        return new LlamaConfig(hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads, numKeyValueHeads,
                headDim, vocabSize, eps, ropeTheta, maxPositionEmbeddings, tieWordEmbeddings, initializerRange,
                ropeScaling);
    }

    private static void positive(String field, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(field + " must be positive, got " + value);
        }
    }

    /** Field access with errors that name the file and the field. */
    private record JsonFields(Path file, JsonNode root) {

        LlamaConfig config() {
            if (!root.isObject()) {
                throw error("the top level", "must be a JSON object");
            }
            rejectUnsupported();
            int hidden = requiredInt("hidden_size");
            int heads = requiredInt("num_attention_heads");
            int headDim;
            if (has("head_dim")) {
                headDim = requiredInt("head_dim");
            } else if (heads > 0 && hidden % heads == 0) {
                headDim = hidden / heads;
            } else {
                throw error("hidden_size", hidden + " is not a multiple of num_attention_heads " + heads);
            }
            try {
                return new LlamaConfig(hidden, requiredInt("intermediate_size"), requiredInt("num_hidden_layers"),
                        heads, has("num_key_value_heads") ? requiredInt("num_key_value_heads") : heads, headDim,
                        requiredInt("vocab_size"),
                        has("rms_norm_eps") ? requiredDouble("rms_norm_eps") : DEFAULT_RMS_NORM_EPS,
                        ropeTheta(),
                        has("max_position_embeddings") ? requiredInt("max_position_embeddings") : DEFAULT_MAX_POSITIONS,
                        has("tie_word_embeddings") && requiredBoolean("tie_word_embeddings"),
                        has("initializer_range") ? requiredDouble("initializer_range") : DEFAULT_INITIALIZER_RANGE,
                        has("rope_parameters") ? ropeScaling(root.get("rope_parameters"))
                                : has("rope_scaling") ? ropeScaling(root.get("rope_scaling")) : null);
            } catch (IllegalArgumentException e) {
                if (e.getMessage().startsWith(file.toString())) {
                    throw e;
                }
                throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
            }
        }

        /**
         * Transformers 5 writes theta and scaling together as {@code rope_parameters}; older configs have
         * {@code rope_theta} and {@code rope_scaling}. A file with both is read as transformers 5 reads it.
         */
        private double ropeTheta() {
            if (has("rope_parameters")) {
                JsonNode theta = root.get("rope_parameters").get("rope_theta");
                if (theta != null && !theta.isNull()) {
                    if (!theta.isNumber()) {
                        throw error("rope_parameters.rope_theta", "must be a number, got " + theta);
                    }
                    return theta.doubleValue();
                }
            }
            return has("rope_theta") ? requiredDouble("rope_theta") : DEFAULT_ROPE_THETA;
        }

        /** Variants this decoder would silently compute wrongly. */
        private void rejectUnsupported() {
            for (String bias : List.of("attention_bias", "mlp_bias")) {
                if (has(bias) && requiredBoolean(bias)) {
                    throw error(bias, "is true, but this Llama implementation has no biases");
                }
            }
            if (has("hidden_act") && !root.get("hidden_act").asText().equals("silu")) {
                throw error("hidden_act", "is '" + root.get("hidden_act").asText() + "', only 'silu' is supported");
            }
        }

        private RopeScaling ropeScaling(JsonNode node) {
            if (!node.isObject()) {
                throw error("rope_scaling", "must be an object or null");
            }
            JsonNode type = node.has("rope_type") ? node.get("rope_type") : node.get("type");
            String kind = type == null ? "default" : type.asText();
            double factor = node.path("factor").asDouble(1);
            return switch (kind) {
                case "default" -> null;
                case "linear" -> RopeScaling.linear(factor);
                case "llama3" -> RopeScaling.llama3(factor, node.path("low_freq_factor").asDouble(1),
                        node.path("high_freq_factor").asDouble(4),
                        node.path("original_max_position_embeddings").asInt(8192));
                default -> throw error("rope_scaling", "type '" + kind + "' is not supported (linear, llama3)");
            };
        }

        private boolean has(String field) {
            return root.has(field) && !root.get(field).isNull();
        }

        private int requiredInt(String field) {
            JsonNode n = required(field);
            if (!n.isIntegralNumber() || !n.canConvertToInt()) {
                throw error(field, "must be an integer, got " + n);
            }
            return n.intValue();
        }

        private double requiredDouble(String field) {
            JsonNode n = required(field);
            if (!n.isNumber()) {
                throw error(field, "must be a number, got " + n);
            }
            return n.doubleValue();
        }

        private boolean requiredBoolean(String field) {
            JsonNode n = required(field);
            if (!n.isBoolean()) {
                throw error(field, "must be true or false, got " + n);
            }
            return n.booleanValue();
        }

        private JsonNode required(String field) {
            if (!has(field)) {
                throw error(field, "is missing");
            }
            return root.get(field);
        }

        private IllegalArgumentException error(String field, String problem) {
            return new IllegalArgumentException(file + ": " + field + " " + problem);
        }
    }
}
