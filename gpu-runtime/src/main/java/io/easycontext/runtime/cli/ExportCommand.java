package io.easycontext.runtime.cli;

import io.easycontext.runtime.backend.cpu.CpuBackend;
import io.easycontext.runtime.hf.HfModelWriter;
import io.easycontext.runtime.io.SafetensorsDType;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.tensor.DType;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * {@code export}: writes a model in Hugging Face layout (sharded safetensors, index, config.json), from a preset or
 * config with weights drawn from the seed, or from a model directory (converting its type, re-sharding it, or
 * giving it a new rope theta as EasyContext does before long-context training).
 */
public final class ExportCommand implements Command {

    @Override
    public String name() {
        return "export";
    }

    @Override
    public String summary() {
        return "save a model (preset, config or HF directory) in Hugging Face layout: --model --output [--dtype]";
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) throws Exception {
        Flags flags = new Flags(args);
        ModelArgument model = ModelArgument.parse(flags.required("model"));
        Path output = Path.of(flags.required("output"));
        SafetensorsDType dtype = weightType(flags.string("dtype", "bf16"));
        long maxShard = byteSize("max-shard-size", flags.string("max-shard-size", "5GB"));
        long seed = flags.longValue("seed", 0);
        Double theta = flags.has("rope-theta") ? flags.number("rope-theta", 0) : null;
        flags.finish();
        // float64 holds every stored type exactly, so the conversion rounds once, to the output type.
        try (CpuBackend cpu = new CpuBackend(DType.F64); LlamaWeights weights = model.weights(cpu, seed, theta)) {
            HfModelWriter.save(cpu, weights, output, dtype, maxShard, model.rawConfig());
            out.printf(Locale.ROOT, "{\"output\":\"%s\",\"parameters\":%d,\"dtype\":\"%s\",\"rope_theta\":%s}%n",
                    output, weights.config().parameterCount(), dtype, weights.config().ropeTheta());
        }
        return 0;
    }

    static SafetensorsDType weightType(String value) {
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "bf16", "bfloat16" -> SafetensorsDType.BF16;
            case "f16", "fp16", "float16" -> SafetensorsDType.F16;
            case "f32", "fp32", "float32" -> SafetensorsDType.F32;
            case "f64", "float64" -> SafetensorsDType.F64;
            default -> throw new Flags.UsageException("--dtype must be bf16, f16, f32 or f64, not '" + value + "'");
        };
    }

    /** {@code 5GB}, {@code 200MB}, {@code 64KB} (powers of 1000, as transformers counts) or plain bytes. */
    static long byteSize(String flag, String value) {
        String v = value.trim().toUpperCase(Locale.ROOT);
        long unit = 1;
        for (String[] u : new String[][]{{"GB", "1000000000"}, {"MB", "1000000"}, {"KB", "1000"}, {"B", "1"}}) {
            if (v.endsWith(u[0])) {
                unit = Long.parseLong(u[1]);
                v = v.substring(0, v.length() - u[0].length()).trim();
                break;
            }
        }
        try {
            long n = Math.multiplyExact(Long.parseLong(v), unit);
            if (n <= 0) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException | ArithmeticException e) {
            throw new Flags.UsageException("--" + flag + " must be a positive size such as 5GB or 200MB, not '"
                    + value + "'");
        }
    }
}
