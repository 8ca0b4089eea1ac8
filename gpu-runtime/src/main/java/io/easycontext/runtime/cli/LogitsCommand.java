package io.easycontext.runtime.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.backend.cpu.CpuBackend;
import io.easycontext.runtime.backend.cuda.CudaBackend;
import io.easycontext.runtime.cuda.Cuda;
import io.easycontext.runtime.model.LlamaModel;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.model.LocalAttention;
import io.easycontext.runtime.tensor.DType;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;

/**
 * {@code logits}: the next-token logits of a model at every position of one sequence of ids, as JSON. With
 * {@code bench/hf_equivalence.py} it checks that a model we save loads in transformers, and one transformers saves
 * loads here, with the same logits.
 */
public final class LogitsCommand implements Command {

    @Override
    public String name() {
        return "logits";
    }

    @Override
    public String summary() {
        return "next-token logits of a model at every position of --ids, as JSON (--backend cpu|cuda)";
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) throws Exception {
        Flags flags = new Flags(args);
        ModelArgument model = ModelArgument.parse(flags.required("model"));
        int[] ids = ints(flags.required("ids"));
        String backendName = flags.string("backend", "cpu");
        DType dtype = cpuType(flags.string("dtype", "f32"));
        int gpu = flags.integer("gpu", 0);
        long seed = flags.longValue("seed", 0);
        Double theta = flags.has("rope-theta") ? flags.number("rope-theta", 0) : null;
        String output = flags.string("output", null);
        flags.finish();
        try (Backend backend = backend(backendName, dtype, gpu);
             LlamaWeights weights = model.weights(backend, seed, theta)) {
            for (int id : ids) {
                if (id < 0 || id >= weights.config().vocabSize()) {
                    throw new Flags.UsageException("--ids holds " + id + ", outside the vocabulary of "
                            + weights.config().vocabSize());
                }
            }
            int[] positions = IntStream.range(0, ids.length).toArray();
            double[][] logits = new LlamaModel(weights, LlamaModel.Options.DEFAULTS)
                    .logitsAt(backend, ids, positions, 1, positions, LocalAttention.INSTANCE);
            ObjectMapper json = new ObjectMapper();
            ObjectNode root = json.createObjectNode();
            root.put("model", model.value());
            root.put("backend", backend.name());
            root.putPOJO("ids", ids);
            ArrayNode rows = root.putArray("logits");
            for (double[] row : logits) {
                ArrayNode r = rows.addArray();
                Arrays.stream(row).forEach(r::add);
            }
            if (output == null) {
                out.println(json.writeValueAsString(root));
            } else {
                json.writeValue(Path.of(output).toFile(), root);
                err.printf(Locale.ROOT, "logits: %d × %d written to %s by %s%n", logits.length,
                        weights.config().vocabSize(), output, backend.name());
            }
        }
        return 0;
    }

    private static Backend backend(String name, DType dtype, int gpu) {
        return switch (name) {
            case "cpu" -> new CpuBackend(dtype);
            case "cuda" -> {
                Cuda.require();
                yield new CudaBackend(gpu, 2L << 30);
            }
            default -> throw new Flags.UsageException("--backend must be cpu or cuda, not '" + name + "'");
        };
    }

    /** The CPU backend's precision; CUDA stores bf16 whatever this says. */
    private static DType cpuType(String value) {
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "f32" -> DType.F32;
            case "f64" -> DType.F64;
            default -> throw new Flags.UsageException("--dtype must be f32 or f64, not '" + value + "'");
        };
    }

    private static int[] ints(String csv) {
        try {
            return Arrays.stream(csv.split(",")).map(String::trim).mapToInt(Integer::parseInt).toArray();
        } catch (NumberFormatException e) {
            throw new Flags.UsageException("--ids must be comma-separated integers, not '" + csv + "'");
        }
    }
}
