package io.easycontext.runtime.cli;

import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.parallel.ParallelConfig;
import io.easycontext.runtime.parallel.ParallelMode;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.train.DistributedTrainer;
import io.easycontext.runtime.train.StepMetrics;
import io.easycontext.runtime.train.SyntheticData;
import io.easycontext.runtime.train.TrainConfig;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * {@code train}: full-parameter training with EasyContext's flags, on {@code N} simulated ranks of the CPU backend
 * ({@code --devices cpu:N}), on the synthetic corpus. One JSON line per optimizer step on stdout; logs on stderr.
 */
public final class TrainCommand implements Command {

    @Override
    public String name() {
        return "train";
    }

    @Override
    public String summary() {
        return "train a Llama model with a sequence-parallel mode on simulated CPU ranks (one JSON line per step)";
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) {
        Flags flags = new Flags(args);
        LlamaConfig base = model(flags.string("model", "tiny"));
        ParallelMode mode = parse(() -> ParallelMode.parse(flags.string("parallel-mode", "data_parallel")));
        int world = devices(flags.string("devices", "cpu:1"));
        int ulysses = flags.integer("ulysses-degree", ParallelConfig.UNSET);
        int ring = flags.integer("ring-degree", ParallelConfig.UNSET);
        int dp = flags.integer("dp-degree", ParallelConfig.UNSET);
        int seqLength = flags.integer("seq-length", 64);
        // EasyContext raises rope theta for long contexts; positions beyond the config's limit are then expected.
        double theta = flags.number("rope-theta", base.ropeTheta());
        LlamaConfig model = parse(() -> base.withRope(theta, Math.max(base.maxPositionEmbeddings(), seqLength)));
        int batch = flags.integer("batch-size", 1);
        int accumulation = flags.integer("gradient-accumulate-every", 1);
        double lr = flags.number("learning-rate", 2e-5);
        int steps = flags.integer("max-train-steps", 10);
        long seed = flags.longValue("seed", 2022);
        int warmup = flags.integer("warmup-steps", 0);
        double weightDecay = flags.number("weight-decay", 0);
        double maxGradNorm = flags.number("max-grad-norm", 1.0);
        DType dtype = dtype(flags.string("dtype", "f32"));
        boolean checkpointing = flags.bool("activation-checkpointing", true);
        flags.finish();

        TrainConfig config = parse(() -> new TrainConfig(model,
                ParallelConfig.resolve(mode, world, dp, ulysses, ring), seqLength, batch, accumulation, steps, lr,
                warmup, weightDecay, maxGradNorm, seed, dtype, checkpointing));
        SyntheticData data = new SyntheticData(seed, model.vocabSize());
        err.printf(Locale.ROOT, "train: %s; model %,d parameters (hidden %d, %d layers, %d heads, %d kv heads), %s%n",
                config.parallel(), model.parameterCount(), model.hiddenSize(), model.numHiddenLayers(),
                model.numAttentionHeads(), model.numKeyValueHeads(), dtype);
        err.printf(Locale.ROOT, "train: seq %d × batch %d × accumulation %d × dp %d = %,d tokens per step; %s%n",
                seqLength, batch, accumulation, config.parallel().dpDegree(), config.tokensPerStep(), data.describe());
        long start = System.nanoTime();
        DistributedTrainer.train(config, data, m -> report(m, steps, out, err));
        err.printf(Locale.ROOT, "train: %d steps in %.2f s%n", steps, (System.nanoTime() - start) / 1e9);
        return 0;
    }

    private static void report(StepMetrics m, int steps, PrintStream out, PrintStream err) {
        out.println(m.toJson());
        out.flush();
        err.printf(Locale.ROOT, "step %d/%d  loss %.4f  grad_norm %.4f  lr %.3g  %.0f tokens/s%n", m.step(), steps,
                m.loss(), m.gradNorm(), m.lr(), m.tokensPerSec());
    }

    /** The value of {@code --model}: a preset name, a Hugging Face model directory, or its config.json. */
    static LlamaConfig model(String value) {
        Path path = Path.of(value);
        if (Files.isDirectory(path)) {
            path = path.resolve("config.json");
        }
        if (Files.isRegularFile(path)) {
            Path file = path;
            return parse(() -> LlamaConfig.fromJson(file));
        }
        if (!LlamaConfig.PRESETS.contains(value.toLowerCase(Locale.ROOT))) {
            throw new Flags.UsageException("--model '" + value + "' is neither a preset " + LlamaConfig.PRESETS
                    + " nor a directory with a config.json");
        }
        return LlamaConfig.preset(value);
    }

    /** {@code cpu:N}: N simulated ranks. */
    private static int devices(String value) {
        String v = value.toLowerCase(Locale.ROOT);
        if (!v.startsWith("cpu:")) {
            throw new Flags.UsageException("--devices must be cpu:N (N simulated ranks on the CPU backend), not '"
                    + value + "'");
        }
        try {
            int n = Integer.parseInt(v.substring(4));
            if (n < 1) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new Flags.UsageException("--devices cpu:N needs a positive N, not '" + value + "'");
        }
    }

    private static DType dtype(String value) {
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "f32", "float32" -> DType.F32;
            case "f64", "float64" -> DType.F64;
            default -> throw new Flags.UsageException("--dtype must be f32 or f64, not '" + value + "'");
        };
    }

    /** Turns a configuration that cannot work into a usage error (exit 2) that keeps the constraint's message. */
    private static <T> T parse(Supplier<T> build) {
        try {
            return build.get();
        } catch (IllegalArgumentException e) {
            throw new Flags.UsageException(e.getMessage());
        }
    }
}
