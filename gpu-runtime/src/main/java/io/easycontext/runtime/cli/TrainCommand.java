package io.easycontext.runtime.cli;

import io.easycontext.runtime.backend.cpu.CpuBackend;
import io.easycontext.runtime.checkpoint.CheckpointManager;
import io.easycontext.runtime.cuda.Cuda;
import io.easycontext.runtime.cuda.PeakFlops;
import io.easycontext.runtime.io.SafetensorsDType;
import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.model.ModelFlops;
import io.easycontext.runtime.parallel.ModeChoice;
import io.easycontext.runtime.parallel.ParallelMode;
import io.easycontext.runtime.plan.MemoryFit;
import io.easycontext.runtime.plan.MemoryPlanner;
import io.easycontext.runtime.spec.CommandLine;
import io.easycontext.runtime.spec.TrainSpec;
import io.easycontext.runtime.spec.Violation;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tokenizer.Tokenizer;
import io.easycontext.runtime.tokenizer.Tokenizers;
import io.easycontext.runtime.train.CancellationToken;
import io.easycontext.runtime.train.DataSource;
import io.easycontext.runtime.train.DistributedTrainer;
import io.easycontext.runtime.train.StepMetrics;
import io.easycontext.runtime.train.StepProfiles;
import io.easycontext.runtime.train.TrainConfig;
import io.easycontext.runtime.train.WeightsSnapshot;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.OptionalDouble;
import java.util.stream.Collectors;

/**
 * {@code train}: full-parameter training with EasyContext's flags, on GPUs ({@code --devices cuda:0,1}, one rank
 * each over NCCL) or {@code N} simulated ranks of the CPU backend ({@code --devices cpu:N}), on the synthetic corpus or a {@code --dataset} on disk ({@code --tokenizer} for its
 * text), from a preset or a Hugging Face model's weights; with {@code --output-dir}, checkpoints that
 * {@code --resume} continues and the final model in Hugging Face layout; {@code --zero-stage 1} shards the AdamW state
 * over the ranks, {@code --zero-stage 2} the gradients too (reduce-scattered layer by layer in the backward) and
 * {@code --zero-stage 3} the parameters too (gathered layer by layer, the next one while the current one computes);
 * {@code --optimizer-offload cpu|gpu_stream} keeps the shard's state in host memory; {@code --optimizer-moments bf16}
 * keeps the AdamW moments in bf16 instead of fp32 (half their memory; {@code --auto-memory} keeps whichever is given);
 * {@code --kept-attention-layers N} keeps the attention output of the last N layers through activation
 * checkpointing, so that their recomputation skips the attention;
 * {@code --auto-memory} lets the memory planner choose sharding, offloads and kept attention, within
 * {@code --host-memory-gib}; {@code --parallel-mode auto} chooses the mode (the fastest measured that fits,
 * {@link ModeChoice}); {@code --profile-ops} times every backend op and prints, per rank and step, where the
 * step's time went (a table and a {@code "what":"op_profile"} JSON line on stderr).
 * One JSON line per optimizer step on stdout; logs on stderr.
 */
public final class TrainCommand implements Command {
    private static final double GIB = 1L << 30;

    @Override
    public String name() {
        return "train";
    }

    @Override
    public String summary() {
        return "train a Llama model with a sequence-parallel mode on GPUs or simulated CPU ranks (one JSON line per step)";
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) {
        Flags flags = new Flags(args);
        TrainSpec spec = spec(flags);
        double hostGib = flags.number("host-memory-gib", 0);
        String tokenizerSpec = flags.string("tokenizer", null);
        boolean profileOps = flags.bool("profile-ops", false);
        CheckpointManager.Options checkpoints = checkpoints(flags, spec.checkpointEvery());
        flags.finish();
        List<Violation> violations = spec.validate();
        if (!violations.isEmpty()) {
            throw new Flags.UsageException(violations.stream()
                    .map(v -> "--" + CommandLine.flagName(v.field()) + " " + v.message())
                    .collect(Collectors.joining("; ")));
        }
        if (spec.parallelMode() == ParallelMode.AUTO) {
            spec = chooseMode(spec, hostGib, err);
        }
        TrainConfig config = spec.toTrainConfig();
        if (config.devices().cuda()) {
            Cuda.require();
            config = fitMemory(config, spec.autoMemory(), hostGib, err);
            if (config == null) {
                return 3;
            }
        }
        LlamaConfig model = config.model();
        ModelArgument source = Files.isDirectory(Path.of(spec.model())) ? ModelArgument.parse(spec.model()) : null;
        DataSource data;
        try (Tokenizer tokenizer = Tokenizers.open(tokenizerSpec, source == null ? null : source.dir().dir())) {
            data = spec.openDataset(model.vocabSize(), tokenizer);
        }
        WeightsSnapshot initial = source != null && source.hasWeights() ? loadedWeights(source, config) : null;
        int steps = config.maxTrainSteps();
        err.printf(Locale.ROOT, "train: %s on %s; model %,d parameters (hidden %d, %d layers, %d heads, %d kv heads), %s; %s%n",
                config.parallel(), config.devices(), model.parameterCount(), model.hiddenSize(),
                model.numHiddenLayers(), model.numAttentionHeads(), model.numKeyValueHeads(),
                (config.devices().cuda() ? "bf16 with fp32 master weights" : config.dtype()) + ", "
                        + config.optimizerMoments().flag() + " AdamW moments", config.sharding());
        err.printf(Locale.ROOT, "train: seq %d × batch %d × accumulation %d × dp %d = %,d tokens per step; %s%n",
                config.seqLength(), config.batchSize(), config.gradientAccumulation(), config.parallel().dpDegree(),
                config.tokensPerStep(), data.describe());
        long start = System.nanoTime();
        OptionalDouble peak = config.devices().cuda() ? PeakFlops.slowestOf(config.devices().devices().gpus())
                : OptionalDouble.empty();
        TrainConfig run = config;
        DistributedTrainer.train(config, data, m -> report(m, steps, mfu(run, m, peak), out, err), CancellationToken.NONE,
                initial, false, new CheckpointManager(checkpoints.withBaseConfig(
                        source == null ? null : source.rawConfig())), profileOps ? profiles(err) : null);
        err.printf(Locale.ROOT, "train: %d steps in %.2f s%n", steps, (System.nanoTime() - start) / 1e9);
        return 0;
    }

    /**
     * {@code --parallel-mode auto}: the first of {@link ModeChoice#candidates} for the spec's devices, model and
     * length whose memory fits on GPU ranks (with the options {@code --auto-memory} would choose, or as given), else
     * the first, whose shortfall {@link #fitMemory} then reports; on CPU ranks simply the first.
     */
    private static TrainSpec chooseMode(TrainSpec spec, double hostGib, PrintStream err) {
        TrainSpec chosen = spec.withModeThatFits(s -> {
            TrainConfig c = s.toTrainConfig();
            return !c.devices().cuda() || MemoryFit.onThisNode(c, s.autoMemory(), (long) (hostGib * GIB)).fits();
        });
        err.println("train: --parallel-mode auto chose " + ModeChoice.flags(chosen.toTrainConfig().parallel()));
        return chosen;
    }

    /**
     * Before any work, the memory planner's verdict on GPU ranks: with {@code --auto-memory} the cheapest options
     * that fit (sharding, offloads) replace the given ones; without, a run that cannot fit is refused with the
     * numbers and the options that would fit. {@code --host-memory-gib}, as in {@code plan}, is the host memory the
     * choice may use on this node (a smaller machine's, to rehearse its run here), else what the node has. Null when
     * refused.
     */
    private static TrainConfig fitMemory(TrainConfig config, boolean auto, double hostGib, PrintStream err) {
        MemoryFit fit = MemoryFit.onThisNode(config, auto, (long) (hostGib * GIB));
        double device = fit.deviceBytes() / GIB;
        if (fit.chosen().isPresent()) {
            MemoryPlanner.Choice c = fit.chosen().get();
            err.printf(Locale.ROOT, "train: --auto-memory chose %s: %.2f GiB per rank of %.2f GiB, %.2f GiB of host "
                    + "memory per rank%n", c.options().flags(), c.estimate().total() / GIB, device,
                    c.estimate().hostMemory() / GIB);
        }
        if (fit.fits()) {
            return fit.config();
        }
        err.printf(Locale.ROOT, "train: does not fit: needs %.2f GiB per rank, %.2f GiB available on %s; %s%n",
                fit.asGiven().total() / GIB, device, config.devices(), fit.choice()
                        .map(c -> "these options fit: " + c.options().flags() + " (or --auto-memory)")
                        .orElse(fit.noChoiceRemedy("--seq-length", "--optimizer-moments")));
        return null;
    }

    /**
     * The flags as the spec that the service shares: each flag is a field of {@link TrainSpec} in kebab case, and a
     * flag left out leaves the field to the spec's default.
     */
    static TrainSpec spec(Flags flags) {
        String mode = flags.string("parallel-mode", null);
        return TrainSpec.builder()
                .model(flags.string("model", null))
                .devices(flags.string("devices", null))
                .parallelMode(mode == null ? null : Flags.usage(() -> ParallelMode.parse(mode)))
                .ulyssesDegree(optionalInteger(flags, "ulysses-degree"))
                .ringDegree(optionalInteger(flags, "ring-degree"))
                .dpDegree(optionalInteger(flags, "dp-degree"))
                .seqLength(optionalInteger(flags, "seq-length"))
                .ropeTheta(optionalNumber(flags, "rope-theta"))
                .batchSize(optionalInteger(flags, "batch-size"))
                .gradientAccumulateEvery(optionalInteger(flags, "gradient-accumulate-every"))
                .learningRate(optionalNumber(flags, "learning-rate"))
                .warmupSteps(optionalInteger(flags, "warmup-steps"))
                .weightDecay(optionalNumber(flags, "weight-decay"))
                .maxGradNorm(optionalNumber(flags, "max-grad-norm"))
                .maxTrainSteps(optionalInteger(flags, "max-train-steps"))
                .seed(flags.has("seed") ? flags.longValue("seed", 0) : null)
                .dtype(flags.string("dtype", null))
                .gpuMemoryGib(optionalInteger(flags, "gpu-memory-gib"))
                .activationCheckpointing(flags.has("activation-checkpointing")
                        ? flags.bool("activation-checkpointing", true) : null)
                .dataset(flags.string("dataset", null))
                .checkpointEvery(optionalInteger(flags, "checkpoint-every"))
                .zeroStage(optionalInteger(flags, "zero-stage"))
                .optimizerOffload(flags.string("optimizer-offload", null))
                .optimizerMoments(flags.string("optimizer-moments", null))
                .offloadCheckpoints(optionalInteger(flags, "offload-checkpoints"))
                .keptAttentionLayers(optionalInteger(flags, "kept-attention-layers"))
                .autoMemory(flags.has("auto-memory") ? flags.bool("auto-memory", true) : null)
                .build();
    }

    /**
     * {@code --output-dir}, {@code --keep-last}, {@code --resume}, {@code --save-dtype}, and the spec's
     * {@code --checkpoint-every}.
     */
    private static CheckpointManager.Options checkpoints(Flags flags, int every) {
        String dir = flags.string("output-dir", null);
        int keep = flags.integer("keep-last", 0);
        String resume = flags.string("resume", null);
        SafetensorsDType saveType = ExportCommand.weightType(flags.string("save-dtype", "bf16"));
        return Flags.usage(() -> new CheckpointManager.Options(dir == null ? null : Path.of(dir), every, keep, resume,
                saveType, null));
    }

    /** A Hugging Face model's weights, loaded once on the host and handed to every rank. */
    private static WeightsSnapshot loadedWeights(ModelArgument source, TrainConfig config) {
        try (CpuBackend cpu = new CpuBackend(DType.F32);
             LlamaWeights weights = source.dir().load(cpu, config.model().ropeTheta())) {
            return WeightsSnapshot.of(cpu, weights);
        }
    }

    private static Integer optionalInteger(Flags flags, String name) {
        return flags.has(name) ? flags.integer(name, 0) : null;
    }

    private static Double optionalNumber(Flags flags, String name) {
        return flags.has(name) ? flags.number(name, 0) : null;
    }

    private static void report(StepMetrics m, int steps, OptionalDouble mfu, PrintStream out, PrintStream err) {
        out.println(m.toJson(mfu));
        out.flush();
        err.printf(Locale.ROOT, "step %d/%d  loss %.4f  grad_norm %.4f  lr %.3g  %.0f tokens/s%s%s%n", m.step(), steps,
                m.loss(), m.gradNorm(), m.lr(), m.tokensPerSec(), m.peakDeviceBytes() > 0
                        ? String.format(Locale.ROOT, "  peak %.2f GiB", m.peakDeviceBytes() / (double) (1L << 30)) : "",
                mfu.isPresent() ? String.format(Locale.ROOT, "  MFU %.1f%%", 100 * mfu.getAsDouble()) : "");
    }

    /**
     * Each rank's op profile of each step on stderr, a table and a JSON line, in one write so that the ranks' threads
     * do not interleave them; stdout keeps one line per step, which scripts parse.
     */
    private static StepProfiles profiles(PrintStream err) {
        return (rank, step, report) -> {
            err.print(report.table(rank, step) + report.toJson(rank, step) + System.lineSeparator());
            err.flush();
        };
    }

    private static OptionalDouble mfu(TrainConfig config, StepMetrics m, OptionalDouble peak) {
        return peak.isPresent() ? OptionalDouble.of(ModelFlops.utilisation(config.model(), config.seqLength(),
                m.tokensPerSec(), config.devices().ranks(), peak.getAsDouble())) : OptionalDouble.empty();
    }

}
