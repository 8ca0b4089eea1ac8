package io.easycontext.service.scheduler;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;

import io.easycontext.runtime.comm.RankDevices;
import io.easycontext.runtime.plan.MemoryEstimate;
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
 * model; refusing it at submission costs nothing.
 */
final class TrainingMemory {

    private static final double GIB = 1L << 30;
    private static final String SECTION = JobSpec.sectionName(JobKind.TRAIN);

    private TrainingMemory() {
    }

    /**
     * @param gpuMemoryBytes each GPU's memory as the driver's total; empty where unknown, which leaves only the
     *     spec's cap to check against (and nothing to check without one)
     */
    static List<Violation> check(TrainSpec train, OptionalLong gpuMemoryBytes) {
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
            Peak peak = peakPerRank(runs.get(k));
            if (peak != null && peak.estimate().total() > available) {
                String field = train.stages().isEmpty() ? SECTION : SECTION + ".stages[" + k + "]";
                violations.add(new Violation(field, String.format(Locale.ROOT,
                        "does not fit the GPUs: needs %.2f GiB per GPU at seqLength %d with %s, %.2f GiB available "
                                + "(%s); %s", peak.estimate().total() / GIB, runs.get(k).seqLength(),
                        peak.config().parallel(), available / GIB, limit, remedy(peak, available))));
            }
        }
        return violations;
    }

    /** Where the peak comes from: the model's own state, which no layout shrinks, or the tokens a rank holds. */
    private static String remedy(Peak peak, long available) {
        MemoryEstimate e = peak.estimate();
        long state = e.parameters() + e.gradients() + e.masterWeights() + e.optimizerMoments();
        return state > available
                ? String.format(Locale.ROOT, "the weights, gradients and optimizer state alone take %.2f GiB",
                        state / GIB)
                : String.format(Locale.ROOT, "%.2f GiB of it grows with the %,d tokens per rank, which more GPUs "
                        + "sharing each sequence or a shorter seqLength would reduce", (e.total() - state) / GIB,
                        peak.localTokens());
    }

    /** One rank's predicted peak, and what it was predicted for. */
    private record Peak(MemoryEstimate estimate, long localTokens, TrainConfig config) {
    }

    /** The planner's peak of one rank of the run; null for a run that is invalid, which its validation refuses. */
    private static Peak peakPerRank(TrainSpec run) {
        TrainConfig config;
        try {
            // The layout of the GPUs' ranks is that of as many CPU ranks, which can be resolved without the GPUs.
            config = ((TrainSpec) JobDevices.withoutGpus(run)).toTrainConfig();
        } catch (InvalidSpecException e) {
            return null;
        }
        return new Peak(MemoryPlanner.estimate(config), MemoryPlanner.localTokens(config), config);
    }
}
