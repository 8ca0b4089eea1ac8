package io.easycontext.runtime.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.comm.RankDevices;
import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.parallel.ParallelConfig;
import io.easycontext.runtime.parallel.ParallelMode;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tokenizer.Tokenizer;
import io.easycontext.runtime.tokenizer.Tokenizers;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The flags the evaluation commands share: which model, read how, on which ranks, and where results go.
 * {@code --devices cpu:N} shares every sequence among N simulated CPU ranks by {@code --parallel-mode};
 * {@code cuda:0,1,…} among those GPUs, one rank each, over NCCL.
 */
record EvalOptions(ModelArgument model, String tokenizer, Double ropeTheta, long seed, RankDevices devices,
                   ParallelConfig parallel, Path outputDir) {

    static EvalOptions read(Flags flags) {
        ModelArgument model = ModelArgument.parse(flags.required("model"));
        String tokenizer = flags.string("tokenizer", null);
        Double theta = flags.has("rope-theta") ? flags.number("rope-theta", 0) : null;
        long seed = flags.longValue("seed", 2022);
        RankDevices devices = devices(flags);
        ParallelConfig parallel = parallel(flags, devices, model.config());
        Path out = Path.of(flags.string("output-dir", "eval-results"));
        return new EvalOptions(model, tokenizer, theta, seed, devices, parallel, out);
    }

    /** {@code --devices}, with {@code --dtype} for CPU ranks and {@code --gpu-memory-gib} for a GPU. */
    static RankDevices devices(Flags flags) {
        DType dtype = switch (flags.string("dtype", "f32").toLowerCase(Locale.ROOT)) {
            case "f32" -> DType.F32;
            case "f64" -> DType.F64;
            default -> throw new Flags.UsageException("--dtype must be f32 or f64");
        };
        // 0: all of each GPU's memory but the reserve for CUDA, cuBLAS and NCCL.
        long pool = (long) flags.integer("gpu-memory-gib", 0) << 30;
        return Flags.usage(() -> RankDevices.parse(flags.string("devices", "cpu:1"), dtype, pool));
    }

    /**
     * {@code --parallel-mode} over all ranks, one sequence-parallel group: by default zigzag ring attention, as
     * EasyContext evaluates, and plain causal attention on a single rank. The heads' constraints are checked here,
     * before any rank starts; lengths are padded to fit the mode.
     */
    static ParallelConfig parallel(Flags flags, RankDevices devices, LlamaConfig model) {
        ParallelMode byDefault = devices.ranks() == 1 ? ParallelMode.DATA_PARALLEL : ParallelMode.ZIGZAG_RING_ATTN;
        String modeName = flags.string("parallel-mode", byDefault.cliName());
        int ulysses = flags.integer("ulysses-degree", ParallelConfig.UNSET);
        int ring = flags.integer("ring-degree", ParallelConfig.UNSET);
        return Flags.usage(() -> {
            ParallelConfig p = ParallelConfig.resolve(ParallelMode.parse(modeName), devices.ranks(), 1, ulysses, ring);
            p.validate(2 * p.spDegree(), model.numAttentionHeads(), model.numKeyValueHeads());
            return p;
        });
    }

    /** The tokenizer named by {@code --tokenizer}, else the model directory's, else bytes; checked against the model. */
    Tokenizer openTokenizer() {
        Tokenizer t = Tokenizers.open(tokenizer, model.dir() == null ? null : model.dir().dir());
        int vocab = model.config().vocabSize();
        if (t.vocabSize() > vocab) {
            t.close();
            throw new Flags.UsageException(t.describe() + " has " + t.vocabSize() + " ids, more than the model's "
                    + "vocabulary of " + vocab + "; give a model whose vocabulary holds them, or --tokenizer");
        }
        return t;
    }

    /** One rank's replica: loaded weights, or weights drawn from {@code --seed} for a preset or a bare config. */
    LlamaWeights weights(Backend backend) {
        return model.weights(backend, seed, ropeTheta);
    }

    /** The run's settings under the flags' names, for the results file. */
    Map<String, Object> describe() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model", model.value());
        m.put("weights", model.hasWeights() ? "loaded" : "random (seed " + seed + ")");
        m.put("rope_theta", ropeTheta == null ? model.config().ropeTheta() : ropeTheta);
        m.put("devices", devices.toString());
        m.put("parallel_mode", parallel.mode().cliName());
        return m;
    }

    /** A short name for result files: the model directory's or the preset's. */
    String modelName() {
        Path p = Path.of(model.value()).getFileName();
        return p == null ? "model" : p.toString();
    }

    /** One line of JSON. */
    static String json(ObjectMapper json, Map<String, Object> fields) {
        try {
            return json.writeValueAsString(fields);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
