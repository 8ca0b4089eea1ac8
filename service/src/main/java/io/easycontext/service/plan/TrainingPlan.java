package io.easycontext.service.plan;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalLong;

import io.easycontext.runtime.comm.RankDevices;
import io.easycontext.runtime.parallel.ParallelMode;
import io.easycontext.runtime.plan.MemoryEstimate;
import io.easycontext.runtime.plan.MemoryFit;
import io.easycontext.runtime.plan.MemoryPlanner;
import io.easycontext.runtime.spec.InvalidSpecException;
import io.easycontext.runtime.spec.TrainSpec;
import io.easycontext.runtime.spec.Violation;
import io.easycontext.runtime.train.TrainConfig;
import io.easycontext.service.job.JobKind;
import io.easycontext.service.job.spec.JobDevices;
import io.easycontext.service.job.spec.JobSpec;

/**
 * The runtime's memory planner applied to a training spec on this node's GPUs, without the GPUs: each run (stage)
 * of the spec with its predicted peak per rank, against the pool a rank may fill, as the {@code plan} command
 * predicts it. The pool is the runtime's: the GPU's memory less {@link RankDevices#RESERVE_BYTES} for CUDA, cuBLAS
 * and NCCL, or the spec's {@code gpuMemoryGib} where smaller. Admission refuses what does not fit from these
 * verdicts and the dry run ({@code POST /api/plans}) shows them, so that what a user is told before submitting is
 * what submission decides.
 */
public final class TrainingPlan {

    private static final double GIB = 1L << 30;
    private static final String SECTION = JobSpec.sectionName(JobKind.TRAIN);

    private TrainingPlan() {
    }

    /** What a rank may fill, and why: the spec's cap or the GPU less the reserve. */
    public record Pool(long bytes, String source) {
    }

    /**
     * One run of the spec as the trainer would take it.
     *
     * @param field the run as a violation names it: {@code train}, or {@code train.stages[k]} in a staged spec
     */
    public record Layout(String field, TrainConfig config) {
    }

    /** One run of the spec and the planner's verdict on it. */
    public record Run(String field, TrainConfig config, MemoryFit fit) {
    }

    /**
     * A cap above the GPUs' memory, which the runtime refuses on the GPU itself: better said at once, on the field.
     *
     * @param gpuMemoryBytes each GPU's memory as the driver's total; empty where unknown
     */
    public static Optional<Violation> capViolation(TrainSpec train, OptionalLong gpuMemoryBytes) {
        long cap = capBytes(train);
        if (gpuMemoryBytes.isPresent() && cap > gpuMemoryBytes.getAsLong()) {
            return Optional.of(new Violation(SECTION + ".gpuMemoryGib", String.format(Locale.ROOT,
                    "must be at most %.2f, the memory of this node's GPUs in GiB, not %d",
                    gpuMemoryBytes.getAsLong() / GIB, train.gpuMemoryGib())));
        }
        return Optional.empty();
    }

    /**
     * The pool of each rank of {@code train} on GPUs of {@code gpuMemoryBytes}; empty where neither the GPUs'
     * memory nor a cap is known, which leaves nothing to compare a peak with.
     */
    public static Optional<Pool> pool(TrainSpec train, OptionalLong gpuMemoryBytes) {
        long cap = capBytes(train);
        OptionalLong gpuPool = gpuMemoryBytes.isPresent()
                ? OptionalLong.of(RankDevices.pool(gpuMemoryBytes.getAsLong(), 0))
                : OptionalLong.empty();
        boolean capped = cap > 0 && (gpuPool.isEmpty() || cap <= gpuPool.getAsLong());
        if (capped) {
            return Optional.of(new Pool(cap, "the spec's gpuMemoryGib"));
        }
        if (gpuPool.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new Pool(gpuPool.getAsLong(), String.format(Locale.ROOT,
                "%.2f GiB per GPU less %d GiB for CUDA, cuBLAS and NCCL", gpuMemoryBytes.getAsLong() / GIB,
                RankDevices.RESERVE_BYTES >> 30)));
    }

    /**
     * Every valid run of {@code train} ({@link #layouts}) with its verdict under the spec's {@code autoMemory}.
     *
     * @param hostMemoryBytes the host memory a training's ranks may fill with what {@code autoMemory} offloads
     */
    public static List<Run> runs(TrainSpec train, Pool pool, long hostMemoryBytes) {
        List<Run> runs = new ArrayList<>();
        List<TrainSpec> specs = train.runs();
        for (int k = 0; k < specs.size(); k++) {
            TrainConfig config = layoutOf(resolved(specs.get(k), pool, hostMemoryBytes));
            if (config != null) {
                runs.add(new Run(field(train, k), config,
                        MemoryFit.of(config, train.autoMemory(), pool.bytes(), hostMemoryBytes)));
            }
        }
        return runs;
    }

    /** Every valid run of {@code train}; a run its validation refuses has no layout to plan and is left out. */
    public static List<Layout> layouts(TrainSpec train) {
        List<Layout> layouts = new ArrayList<>();
        List<TrainSpec> specs = train.runs();
        for (int k = 0; k < specs.size(); k++) {
            TrainConfig config = layoutOf(specs.get(k));
            if (config != null) {
                layouts.add(new Layout(field(train, k), config));
            }
        }
        return layouts;
    }

    /**
     * A run of {@code parallelMode auto} with the mode this node runs it in: the first of the modes the model and
     * length allow whose memory fits {@code pool} (with the options {@code autoMemory} chooses, or as given), as
     * {@code train --parallel-mode auto} chooses; any other run as it is. Admission, the dry run and the executor all
     * resolve through here, so the mode planned is the mode run.
     */
    public static TrainSpec resolved(TrainSpec run, Pool pool, long hostMemoryBytes) {
        if (run.parallelMode() != ParallelMode.AUTO) {
            return run;
        }
        TrainSpec chosen = ((TrainSpec) JobDevices.withoutGpus(run)).withModeThatFits(s -> MemoryFit.of(
                s.toTrainConfig(), run.autoMemory(), pool.bytes(), hostMemoryBytes).fits());
        return chosen.parallelMode() == ParallelMode.AUTO ? run : run.withParallel(chosen.toTrainConfig().parallel());
    }

    private static String field(TrainSpec train, int run) {
        return train.stages().isEmpty() ? SECTION : SECTION + ".stages[" + run + "]";
    }

    /**
     * What to change for a run that does not fit. Without {@code autoMemory}: where the peak comes from, the
     * model's own state, which no layout shrinks, or the tokens a rank holds; and the options that would fit, where
     * some do. With it, no option fits, which leaves the sequence, the GPUs and the moments' type.
     */
    public static String remedy(MemoryFit fit, long hostMemoryBytes) {
        if (fit.auto()) {
            return fit.noChoiceRemedy("seqLength", "optimizerMoments") + (hostMemoryBytes == Long.MAX_VALUE ? ""
                    : String.format(Locale.ROOT, " (what autoMemory offloads may take %.2f GiB of host memory)",
                            hostMemoryBytes / GIB));
        }
        MemoryEstimate e = fit.asGiven();
        long state = e.parameters() + e.gradients() + e.masterWeights() + e.optimizerMoments();
        String source = state > fit.deviceBytes()
                ? String.format(Locale.ROOT, "the weights, gradients and optimizer state alone take %.2f GiB",
                        state / GIB)
                : String.format(Locale.ROOT, "%.2f GiB of it grows with the %,d tokens per rank, which more GPUs "
                        + "sharing each sequence or a shorter seqLength would reduce", (e.total() - state) / GIB,
                        MemoryPlanner.localTokens(fit.given()));
        return source + fit.choice().map(c -> "; these options fit: " + c.options().fields() + ", or autoMemory: true")
                .orElse("");
    }

    private static long capBytes(TrainSpec train) {
        return (long) train.gpuMemoryGib() << 30;
    }

    /**
     * The run as the trainer would take it, for its layout and peak; null for a run that is invalid, which its
     * validation refuses.
     */
    private static TrainConfig layoutOf(TrainSpec run) {
        try {
            // The layout of the GPUs' ranks is that of as many CPU ranks, which can be resolved without the GPUs.
            return ((TrainSpec) JobDevices.withoutGpus(run)).toTrainConfig();
        } catch (InvalidSpecException e) {
            return null;
        }
    }
}
