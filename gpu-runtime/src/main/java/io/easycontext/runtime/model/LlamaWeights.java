package io.easycontext.runtime.model;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.stream.IntStream;

/**
 * The parameters of a {@link LlamaModel} under Hugging Face's names, each with its gradient. A tied
 * {@code lm_head} is the embedding itself: one tensor, one gradient, listed once. Parameters are either tensors of
 * their own or views into {@link FlatParameters} (for a sharded optimizer); the model sees no difference.
 */
public final class LlamaWeights implements AutoCloseable {

    /** One decoder layer's parameters. Linear weights are {@code [out, in]}. */
    public record Layer(Parameter inputNorm, Parameter q, Parameter k, Parameter v, Parameter o,
                        Parameter postNorm, Parameter gate, Parameter up, Parameter down) {
    }

    private final LlamaConfig config;
    private final FlatParameters flat;
    private final Map<String, Parameter> byName;
    private final Parameter embedding;
    private final List<Layer> layers;
    private final Parameter norm;
    private final Parameter lmHead;
    private boolean owned = true;

    private LlamaWeights(LlamaConfig config, FlatParameters flat, Map<String, Parameter> byName) {
        this.config = config;
        this.flat = flat;
        this.byName = Collections.unmodifiableMap(byName);
        this.embedding = byName.get("model.embed_tokens.weight");
        this.norm = byName.get("model.norm.weight");
        this.lmHead = config.tieWordEmbeddings() ? embedding : byName.get("lm_head.weight");
        List<Layer> ls = new ArrayList<>();
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            ls.add(layer(i, byName::get));
        }
        this.layers = List.copyOf(ls);
    }

    /** Decoder layer {@code i}'s parameters, each looked up by its Hugging Face name. */
    public static Layer layer(int i, Function<String, Parameter> byName) {
        String p = "model.layers." + i + ".";
        return new Layer(byName.apply(p + "input_layernorm.weight"), byName.apply(p + "self_attn.q_proj.weight"),
                byName.apply(p + "self_attn.k_proj.weight"), byName.apply(p + "self_attn.v_proj.weight"),
                byName.apply(p + "self_attn.o_proj.weight"), byName.apply(p + "post_attention_layernorm.weight"),
                byName.apply(p + "mlp.gate_proj.weight"), byName.apply(p + "mlp.up_proj.weight"),
                byName.apply(p + "mlp.down_proj.weight"));
    }

    /**
     * Weights over tensors that belong to someone else (views into a ZeRO-2 run's buffer of every value), in the
     * order of {@link #layout}; a gradient may be null where the owner keeps gradients elsewhere. Closing these
     * weights frees nothing.
     */
    public static LlamaWeights views(LlamaConfig config, List<Parameter> parameters) {
        Map<String, Parameter> params = new LinkedHashMap<>();
        parameters.forEach(p -> params.put(p.name(), p));
        if (!params.keySet().equals(layout(config).keySet())) {
            throw new IllegalArgumentException("the parameters " + params.keySet() + " are not the model's");
        }
        LlamaWeights w = new LlamaWeights(config, null, params);
        w.owned = false;
        return w;
    }

    /**
     * Every parameter's Hugging Face name and shape, in state-dict order. A tied model has no {@code lm_head.weight}:
     * its output projection is the embedding.
     */
    public static Map<String, int[]> layout(LlamaConfig config) {
        Map<String, int[]> shapes = new LinkedHashMap<>();
        int h = config.hiddenSize();
        shapes.put("model.embed_tokens.weight", new int[]{config.vocabSize(), h});
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            String p = "model.layers." + i + ".";
            shapes.put(p + "input_layernorm.weight", new int[]{h});
            shapes.put(p + "self_attn.q_proj.weight", new int[]{config.qDim(), h});
            shapes.put(p + "self_attn.k_proj.weight", new int[]{config.kvDim(), h});
            shapes.put(p + "self_attn.v_proj.weight", new int[]{config.kvDim(), h});
            shapes.put(p + "self_attn.o_proj.weight", new int[]{h, config.qDim()});
            shapes.put(p + "post_attention_layernorm.weight", new int[]{h});
            shapes.put(p + "mlp.gate_proj.weight", new int[]{config.intermediateSize(), h});
            shapes.put(p + "mlp.up_proj.weight", new int[]{config.intermediateSize(), h});
            shapes.put(p + "mlp.down_proj.weight", new int[]{h, config.intermediateSize()});
        }
        shapes.put("model.norm.weight", new int[]{h});
        if (!config.tieWordEmbeddings()) {
            shapes.put("lm_head.weight", new int[]{config.vocabSize(), h});
        }
        return shapes;
    }

    /** Writes the values of the parameter {@code name} into its freshly allocated tensor {@code value}. */
    @FunctionalInterface
    public interface Loader {
        void fill(String name, Tensor value);
    }

    /** Every parameter of {@link #layout}, filled by {@code loader} (a checkpoint, a Hugging Face model). */
    public static LlamaWeights load(Backend backend, LlamaConfig config, Loader loader) {
        Map<String, Parameter> params = new LinkedHashMap<>();
        layout(config).forEach((name, shape) -> {
            Tensor value = backend.allocate(backend.floatType(), shape);
            loader.fill(name, value);
            params.put(name, new Parameter(name, value, backend.zeros(backend.floatType(), shape)));
        });
        return new LlamaWeights(config, null, params);
    }

    /**
     * As {@link #load}, with every value and gradient a view into one flat buffer each, laid out in {@code shards}
     * equal shards ({@link FlatLayout}).
     */
    public static LlamaWeights loadFlat(Backend backend, LlamaConfig config, int shards, Loader loader) {
        FlatParameters flat = FlatParameters.allocate(backend, FlatLayout.of(layout(config), shards));
        Map<String, Parameter> params = new LinkedHashMap<>();
        for (Parameter p : flat.parameters()) {
            loader.fill(p.name(), p.value());
            params.put(p.name(), p);
        }
        return new LlamaWeights(config, flat, params);
    }

    /**
     * Hugging Face's initialisation: linear and embedding weights from {@code N(0, initializer_range²)}, norm gains 1.
     * Each tensor draws from a generator seeded by {@code seed} and its own name, so every rank builds the same
     * replica, and a tensor's values do not depend on which other tensors exist.
     */
    public static LlamaWeights initialize(Backend backend, LlamaConfig config, long seed) {
        return load(backend, config, initializer(backend, config, seed));
    }

    /** {@link #initialize} into flat buffers of {@code shards} shards: the same values, as {@link #loadFlat} holds them. */
    public static LlamaWeights initializeFlat(Backend backend, LlamaConfig config, long seed, int shards) {
        return loadFlat(backend, config, shards, initializer(backend, config, seed));
    }

    /** What {@link #initialize} fills each parameter with. */
    public static Loader initializer(Backend backend, LlamaConfig config, long seed) {
        Init init = new Init(seed, config.initializerRange());
        return (name, value) -> backend.upload(value,
                value.shape().length == 1 ? init.ones(value.shape()[0]) : init.normal(name, value.shape()));
    }

    private static final int INIT_CHUNK = 1 << 16;

    private record Init(long seed, double std) {
        /** Values depend on the seed, the name and the position only, so chunks fill in parallel. */
        float[] normal(String name, int... shape) {
            long base = seed * 0x9E3779B97F4A7C15L + name.hashCode();
            float[] values = new float[Math.multiplyExact(shape[0], shape[1])];
            int chunks = (values.length + INIT_CHUNK - 1) / INIT_CHUNK;
            IntStream.range(0, chunks).parallel().forEach(c -> {
                SplittableRandom rng = new SplittableRandom(base + c * 0xBF58476D1CE4E5B9L);
                for (int i = c * INIT_CHUNK, end = Math.min(values.length, i + INIT_CHUNK); i < end; i++) {
                    values[i] = (float) (std * rng.nextGaussian());
                }
            });
            return values;
        }

        float[] ones(int size) {
            float[] values = new float[size];
            Arrays.fill(values, 1f);
            return values;
        }
    }

    public LlamaConfig config() {
        return config;
    }

    /** The flat buffers the parameters are views into, where {@link #loadFlat} built them. */
    public Optional<FlatParameters> flat() {
        return Optional.ofNullable(flat);
    }

    /** Every parameter once, in Hugging Face's state-dict order. */
    public List<Parameter> parameters() {
        return List.copyOf(byName.values());
    }

    /** The parameter named {@code name} as in a Hugging Face state dict. */
    public Parameter get(String name) {
        Parameter p = byName.get(name);
        if (p == null) {
            throw new IllegalArgumentException("no parameter named '" + name + "'");
        }
        return p;
    }

    public Parameter embedding() {
        return embedding;
    }

    public Layer layer(int i) {
        return layers.get(i);
    }

    public Parameter norm() {
        return norm;
    }

    /** The output projection {@code [vocab, hidden]}; the embedding itself when tied. */
    public Parameter lmHead() {
        return lmHead;
    }

    public void zeroGradients(Backend backend) {
        if (flat != null) {
            backend.fill(flat.grads(), 0);
            return;
        }
        for (Parameter p : byName.values()) {
            if (p.grad() != null) {
                backend.fill(p.grad(), 0);
            }
        }
    }

    @Override
    public void close() {
        if (!owned) {
            return;
        }
        if (flat != null) {
            flat.close();
            return;
        }
        for (Parameter p : byName.values()) {
            p.value().close();
            p.grad().close();
        }
    }
}
