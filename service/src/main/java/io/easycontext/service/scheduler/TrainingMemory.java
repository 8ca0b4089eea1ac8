package io.easycontext.service.scheduler;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;

import io.easycontext.runtime.comm.RankDevices;
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
 * Whether a training fits its GPUs, by the runtime's memory planner: each run (stage) of the spec has its peak per
 * rank predicted as the {@code plan} command predicts it, and compared with what a rank may use. That is its pool, as
 * the runtime sizes it: the GPU's memory less {@link RankDevices#RESERVE_BYTES} for CUDA, cuBLAS and NCCL, or the
 * spec's {@code gpuMemoryGib} where smaller. A run that cannot fit would fail with OUT_OF_MEMORY after loading its
 * model; refusing it at submission costs nothing. With {@code autoMemory} the verdict is the one the executor will
 * reach before starting the run ({@link MemoryFit}): refused only where no option the planner may choose fits.
 */
final class TrainingMemory {

    private static final double GIB = 1L << 30;
    private static final String SECTION = JobSpec.sectionName(JobKind.TRAIN);

    private TrainingMemory() {
    }

    /**
     * @param gpuMemoryBytes each GPU's memory as the driver's total; empty where unknown, which leaves only the
     *     spec's cap to check against (and nothing to check without one)
     * @param hostMemoryBytes the host memory a training's ranks may fill with what {@code autoMemory} offloads
     */
    static List<Violation> check(TrainSpec train, OptionalLong gpuMemoryBytes, long hostMemoryBytes) {
        long cap = (long) train.gpuMemoryGib() << 30;
        if (gpuMemoryBytes.isPresent() && cap > gpuMemoryBytes.getAsLong()) {
            return List.of(new Violation(SECTION + ".gpuMemoryGib", String.format(Locale.ROOT,
                    "must be at most %.2f, the memory of this node's GPUs in GiB, not %d",
                    gpuMemoryBytes.getAsLong() / GIB, train.gpuMemoryGib())));
        }
        OptionalLong pool = gpuMemoryBytes.isPresent()
                ? OptionalLong.of(RankDevices.pool(gpuMemoryBytes.getAsLong(), 0))
                : OptionalLong.empty();
        boolean capped = cap > 0 && (pool.isEmpty() || cap <= pool.getAsLong());
        if (!capped && pool.isEmpty()) {
            return List.of();
        }
        long available = capped ? cap : pool.getAsLong();
        String limit = capped ? "the spec's gpuMemoryGib" : String.format(Locale.ROOT,
                "%.2f GiB per GPU less %d GiB for CUDA, cuBLAS and NCCL", gpuMemoryBytes.getAsLong() / GIB,
                RankDevices.RESERVE_BYTES >> 30);
        List<Violation> violations = new ArrayList<>();
        List<TrainSpec> runs = train.runs();
        for (int k = 0; k < runs.size(); k++) {
            TrainConfig config = layoutOf(runs.get(k));
            if (config == null) {
                continue;
            }
            MemoryFit fit = MemoryFit.of(config, train.autoMemory(), available, hostMemoryBytes);
            if (!fit.fits()) {
                String field = train.stages().isEmpty() ? SECTION : SECTION + ".stages[" + k + "]";
                violations.add(new Violation(field, String.format(Locale.ROOT,
                        "does not fit the GPUs: needs %.2f GiB per GPU at seqLength %d with %s, %.2f GiB available "
                                + "(%s); %s", fit.asGiven().total() / GIB, config.seqLength(), config.parallel(),
                        available / GIB, limit, remedy(fit, hostMemoryBytes))));
            }
        }
        return violations;
    }

    /**
     * Without {@code autoMemory}: where the peak comes from, the model's own state, which no layout shrinks, or the
     * tokens a rank holds; and the options that would fit, where some do. With it, no option fits, which leaves the
     * sequence, the GPUs and the moments' type.
     */
    private static String remedy(MemoryFit fit, long hostMemoryBytes) {
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
