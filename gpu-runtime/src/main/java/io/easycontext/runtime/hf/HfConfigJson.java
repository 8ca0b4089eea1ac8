package io.easycontext.runtime.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.easycontext.runtime.io.InvalidFileException;
import io.easycontext.runtime.io.SafetensorsDType;
import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.model.RopeScaling;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A Hugging Face {@code config.json}: which architectures this runtime computes exactly, and the file it writes
 * so that {@code transformers} loads a saved model as {@code LlamaForCausalLM}.
 */
public final class HfConfigJson {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final Set<String> LLAMA = Set.of("llama", "LlamaForCausalLM");
    private static final Set<String> MISTRAL = Set.of("mistral", "MistralForCausalLM");

    private HfConfigJson() {
    }

    /** The parsed file, for fields this runtime does not model (token ids) to survive a load and save. */
    static ObjectNode readTree(Path file) {
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new InvalidFileException(file, "cannot be read as JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new InvalidFileException(file, "must hold a JSON object");
        }
        return (ObjectNode) root;
    }

    /**
     * The model's shape, after refusing architectures whose results would silently differ: anything but Llama,
     * and Mistral whose sliding window is shorter than its positions (a window at least that long never masks,
     * so such a Mistral is a Llama).
     */
    public static LlamaConfig read(Path file) {
        ObjectNode root = readTree(file);
        List<String> names = new ArrayList<>();
        if (root.hasNonNull("model_type")) {
            names.add(root.get("model_type").asText());
        }
        root.path("architectures").forEach(a -> names.add(a.asText()));
        boolean llama = names.stream().anyMatch(LLAMA::contains);
        boolean mistral = names.stream().anyMatch(MISTRAL::contains);
        if (!names.isEmpty() && !llama && !mistral) {
            throw new InvalidFileException(file, "model_type/architectures " + names + " is not supported: this "
                    + "runtime computes Llama (LlamaForCausalLM) and Mistral without a sliding window");
        }
        LlamaConfig config = LlamaConfig.fromJson(file);
        if (mistral && root.hasNonNull("sliding_window")) {
            long window = root.get("sliding_window").asLong();
            if (window < config.maxPositionEmbeddings()) {
                throw new InvalidFileException(file, "sliding_window " + window + " is smaller than "
                        + "max_position_embeddings " + config.maxPositionEmbeddings()
                        + ": Mistral's sliding-window attention is not implemented");
            }
        }
        return config;
    }

    /**
     * Writes {@code config} as a {@code LlamaForCausalLM} config. Fields of {@code base} (the config the model came
     * from) that this runtime does not model, such as token ids, are kept; every field it does model is ours. Rope
     * settings go both in the classic {@code rope_theta}/{@code rope_scaling} and in transformers 5's
     * {@code rope_parameters}, so either generation reads the new theta.
     */
    public static void write(Path file, LlamaConfig config, SafetensorsDType dtype, ObjectNode base) throws IOException {
        ObjectNode root = base == null ? JSON.createObjectNode() : base.deepCopy();
        for (String stale : List.of("model_type", "architectures", "rope_scaling", "rope_parameters", "sliding_window",
                "dtype", "torch_dtype", "transformers_version")) {
            root.remove(stale);
        }
        root.putArray("architectures").add("LlamaForCausalLM");
        root.put("model_type", "llama");
        root.put("hidden_size", config.hiddenSize());
        root.put("intermediate_size", config.intermediateSize());
        root.put("num_hidden_layers", config.numHiddenLayers());
        root.put("num_attention_heads", config.numAttentionHeads());
        root.put("num_key_value_heads", config.numKeyValueHeads());
        root.put("head_dim", config.headDim());
        root.put("vocab_size", config.vocabSize());
        root.put("rms_norm_eps", config.rmsNormEps());
        root.put("max_position_embeddings", config.maxPositionEmbeddings());
        root.put("tie_word_embeddings", config.tieWordEmbeddings());
        root.put("initializer_range", config.initializerRange());
        root.put("hidden_act", "silu");
        root.put("attention_bias", false);
        root.put("mlp_bias", false);
        root.put("torch_dtype", torchName(dtype));
        root.put("rope_theta", config.ropeTheta());
        RopeScaling scaling = config.ropeScaling();
        ObjectNode parameters = root.putObject("rope_parameters");
        parameters.put("rope_theta", config.ropeTheta());
        if (scaling == null) {
            root.putNull("rope_scaling");
            parameters.put("rope_type", "default");
        } else {
            ObjectNode legacy = root.putObject("rope_scaling");
            describe(scaling, legacy);
            describe(scaling, parameters);
        }
        JSON.writeValue(file.toFile(), root);
    }

    private static void describe(RopeScaling s, ObjectNode into) {
        into.put("factor", s.factor());
        if (s.type() == RopeScaling.Type.LINEAR) {
            into.put("rope_type", "linear");
        } else {
            into.put("rope_type", "llama3");
            into.put("low_freq_factor", s.lowFreqFactor());
            into.put("high_freq_factor", s.highFreqFactor());
            into.put("original_max_position_embeddings", s.originalMaxPositions());
        }
    }

    private static String torchName(SafetensorsDType dtype) {
        return switch (dtype) {
            case BF16 -> "bfloat16";
            case F16 -> "float16";
            case F32 -> "float32";
            case F64 -> "float64";
            default -> throw new IllegalArgumentException("model weights are floating point, not " + dtype);
        };
    }
}
