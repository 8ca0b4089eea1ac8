package io.easycontext.runtime.cli;

import io.easycontext.runtime.comm.RankDevices;
import io.easycontext.runtime.cuda.Cuda;
import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.model.LlamaModel;
import io.easycontext.runtime.optim.OptimizerMoments;
import io.easycontext.runtime.optim.zero.OffloadMode;
import io.easycontext.runtime.optim.zero.Sharding;
import io.easycontext.runtime.parallel.ModeChoice;
import io.easycontext.runtime.parallel.ParallelConfig;
import io.easycontext.runtime.parallel.ParallelMode;
import io.easycontext.runtime.plan.MemoryEstimate;
import io.easycontext.runtime.plan.MemoryFit;
import io.easycontext.runtime.plan.MemoryOptions;
import io.easycontext.runtime.plan.MemoryPlanner;
import io.easycontext.runtime.plan.NodeMemory;
import io.easycontext.runtime.spec.Models;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Predicts the peak GPU memory per rank of a training run before any work, by component, and says whether it
 * fits: exit 0 when it does, 3 when it does not (with needed and available), 2 for bad flags. {@code --auto} chooses
 * the sharding, offloads and kept attention; {@code --parallel-mode auto} the mode ({@link ModeChoice}: the fastest
 * measured whose memory fits); {@code --optimizer-moments fp32|bf16} (as {@code train}'s) is never chosen, only
 * planned with as given.
 */
public final class PlanCommand implements Command {
    private static final double GIB = 1L << 30;

    @Override
    public String name() {
        return "plan";
    }

    @Override
    public String summary() {
        return "predict peak GPU memory per rank for a training run, and whether it fits";
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) {
        Flags flags = new Flags(args);
        String modelValue = flags.string("model", "llama2-7b");
        int seq = flags.integer("seq-length", 32768);
        int batch = flags.integer("batch-size", 1);
        int gpus = flags.integer("gpus", 1);
        String modeName = flags.string("parallel-mode", gpus > 1 ? "zigzag_ring_attn" : "data_parallel");
        int ulysses = flags.integer("ulysses-degree", ParallelConfig.UNSET);
        int ring = flags.integer("ring-degree", ParallelConfig.UNSET);
        int dp = flags.integer("dp-degree", ParallelConfig.UNSET);
        int lossChunk = flags.integer("loss-chunk-tokens", LlamaModel.Options.DEFAULTS.lossChunkTokens());
        int mlpChunk = flags.integer("mlp-chunk-tokens", LlamaModel.Options.DEFAULTS.mlpChunkTokens());
        double gib = flags.number("gpu-memory-gib", 0);
        int zeroStage = flags.integer("zero-stage", 0);
        String offload = flags.string("optimizer-offload", OffloadMode.NONE.flag());
        String momentsName = flags.string("optimizer-moments", OptimizerMoments.FP32.flag());
        int offloadedCheckpoints = flags.integer("offload-checkpoints", 0);
        int keptAttentionLayers = flags.integer("kept-attention-layers", 0);
        boolean auto = flags.bool("auto", false);
        double hostGib = flags.number("host-memory-gib", 0);
        flags.finish();
        Sharding sharding = Flags.usage(() -> new Sharding(zeroStage, OffloadMode.parse(offload)));
        OptimizerMoments moments = Flags.usage(() -> OptimizerMoments.parse(momentsName));
        if (auto && (flags.has("zero-stage") || flags.has("optimizer-offload") || flags.has("offload-checkpoints")
                || flags.has("kept-attention-layers"))) {
            throw new Flags.UsageException("--auto chooses --zero-stage, --optimizer-offload, --offload-checkpoints "
                    + "and --kept-attention-layers; give either it or them");
        }
        if (keptAttentionLayers < 0) {
            throw new Flags.UsageException("--kept-attention-layers must be 0 or more, not " + keptAttentionLayers);
        }
        LlamaConfig model;
        try {
            model = Models.resolve(modelValue);
        } catch (IllegalArgumentException e) {
            throw new Flags.UsageException("--model " + e.getMessage());
        }
        boolean autoMode = ParallelMode.AUTO.cliName().equals(modeName);
        if (autoMode && (flags.has("ulysses-degree") || flags.has("ring-degree") || flags.has("dp-degree"))) {
            throw new Flags.UsageException("--parallel-mode " + ModeChoice.DEGREES_GIVEN);
        }
        List<ParallelConfig> layouts = autoMode ? ModeChoice.candidates(gpus, seq, model) : List.of(Flags.usage(() -> {
            ParallelConfig p = ParallelConfig.resolve(ParallelMode.parse(modeName), gpus, dp, ulysses, ring);
            p.validate(seq, model.numAttentionHeads(), model.numKeyValueHeads());
            return p;
        }));
        if (layouts.isEmpty()) {
            throw new Flags.UsageException("--parallel-mode " + ModeChoice.noneFor(seq, gpus));
        }
        for (ParallelConfig layout : layouts) {
            Sharding asked = sharding;
            Flags.usage(() -> {
                asked.checkWorld(layout.worldSize());
                return asked;
            });
        }
        long available = gib > 0 ? (long) (gib * GIB) : detectedMemory();
        long host = hostGib > 0 ? (long) (hostGib * GIB) : NodeMemory.host().orElse(Long.MAX_VALUE);
        // The first layout, best first, whose memory fits: as chosen (--auto) or as given.
        MemoryOptions given = new MemoryOptions(sharding, offloadedCheckpoints, keptAttentionLayers);
        ParallelConfig parallel = ModeChoice.firstThatFits(layouts, layout -> {
            long tokens = (long) seq / layout.spDegree() * batch;
            return available <= 0 || (auto
                    ? MemoryPlanner.choose(model, tokens, layout, batch, lossChunk, mlpChunk, true, available, host,
                            moments).isPresent()
                    : MemoryPlanner.estimate(model, tokens, layout, batch, lossChunk, mlpChunk, given, moments).total()
                            <= available);
        });
        if (autoMode) {
            out.println("mode: " + ModeChoice.flags(parallel));
        }

        long localTokens = (long) seq / parallel.spDegree() * batch;
        if (auto) {
            if (available <= 0) {
                throw new Flags.UsageException("--auto needs a GPU here or --gpu-memory-gib");
            }
            Optional<MemoryPlanner.Choice> choice = MemoryPlanner.choose(model, localTokens, parallel, batch, lossChunk,
                    mlpChunk, true, available, host, moments);
            if (choice.isEmpty()) {
                out.println(noOptionFits(available, host, moments));
                return 3;
            }
            MemoryOptions o = choice.get().options();
            out.println("choose: " + o.flags() + (moments == OptimizerMoments.FP32 ? ""
                    : " --optimizer-moments " + moments.flag()));
            sharding = o.sharding();
            offloadedCheckpoints = o.offloadedCheckpoints();
            keptAttentionLayers = o.keptAttentionLayers();
        }
        MemoryEstimate e = MemoryPlanner.estimate(model, localTokens, parallel, batch, lossChunk, mlpChunk,
                new MemoryOptions(sharding, offloadedCheckpoints, keptAttentionLayers), moments);
        out.printf(Locale.ROOT, "plan: %s, %,d parameters, %,d tokens per sequence, %,d per rank; %s; %s; "
                        + "optimizer_moments %s%n", modelName(model), model.parameterCount(), seq, localTokens, parallel,
                sharding, moments.flag());
        for (Map.Entry<String, Long> c : e.components().entrySet()) {
            out.printf(Locale.ROOT, "  %-42s %9.2f GiB%n", c.getKey(), c.getValue() / GIB);
        }
        out.printf(Locale.ROOT, "  %-42s %9.2f GiB%n", "peak per rank", e.total() / GIB);
        if (e.hostMemory() > 0) {
            out.printf(Locale.ROOT, "  %-42s %9.2f GiB%n", "host memory per rank (state, checkpoints)",
                    e.hostMemory() / GIB);
        }
        if (available <= 0) {
            out.println("no GPU here and no --gpu-memory-gib given: nothing to compare with");
            return 0;
        }
        if (e.total() > available) {
            // As train does: name the options that would fit, so that the next command is obvious.
            Optional<MemoryPlanner.Choice> fitting = MemoryPlanner.choose(model, localTokens, parallel, batch,
                    lossChunk, mlpChunk, true, available, host, moments);
            out.printf(Locale.ROOT, "does not fit: needs %.2f GiB per rank, %.2f GiB available; %s%n", e.total() / GIB,
                    available / GIB, fitting.map(c -> String.format(Locale.ROOT, "these options fit: %s (%.2f GiB"
                            + " per rank; or --auto)", c.options().flags(), c.estimate().total() / GIB))
                            .orElseGet(() -> noOptionFits(available, host, moments)));
            return 3;
        }
        out.printf(Locale.ROOT, "fits: %.2f GiB of %.2f GiB available (%.0f%%)%n", e.total() / GIB, available / GIB,
                100.0 * e.total() / available);
        return 0;
    }

    private static String noOptionFits(long available, long host, OptimizerMoments moments) {
        return String.format(Locale.ROOT, "no sharding or offload fits %.2f GiB per rank and %s of host memory: %s",
                available / GIB, host == Long.MAX_VALUE ? "any amount" : String.format(Locale.ROOT, "%.2f GiB",
                        host / GIB), MemoryFit.remedy(moments, "--seq-length", "--optimizer-moments"));
    }

    private static String modelName(LlamaConfig c) {
        return String.format(Locale.ROOT, "%d layers × hidden %d (ffn %d, %d/%d heads, vocab %d)", c.numHiddenLayers(),
                c.hiddenSize(), c.intermediateSize(), c.numAttentionHeads(), c.numKeyValueHeads(), c.vocabSize());
    }

    /** GPU 0's pool as a rank would size it (its memory less the reserve); 0 without a GPU. */
    private static long detectedMemory() {
        return Cuda.availability().available() ? RankDevices.pool(Cuda.device(0).totalMemory(), 0) : 0;
    }
}
