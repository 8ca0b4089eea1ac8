package io.easycontext.service.scheduler;

import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalLong;

import io.easycontext.runtime.spec.TrainSpec;
import io.easycontext.runtime.spec.Violation;
import io.easycontext.service.plan.TrainingPlan;

/**
 * Whether a training fits its GPUs, by the runtime's memory planner ({@link TrainingPlan}). A run that cannot fit
 * would fail with OUT_OF_MEMORY after loading its model; refusing it at submission costs nothing. With
 * {@code autoMemory} the verdict is the one the executor will reach before starting the run
 * ({@link io.easycontext.runtime.plan.MemoryFit}): refused only where no option the planner may choose fits.
 */
final class TrainingMemory {

    private static final double GIB = 1L << 30;

    private TrainingMemory() {
    }

    /**
     * @param gpuMemoryBytes each GPU's memory as the driver's total; empty where unknown, which leaves only the
     *     spec's cap to check against (and nothing to check without one)
     * @param hostMemoryBytes the host memory a training's ranks may fill with what {@code autoMemory} offloads
     */
    static List<Violation> check(TrainSpec train, OptionalLong gpuMemoryBytes, long hostMemoryBytes) {
        Optional<Violation> cap = TrainingPlan.capViolation(train, gpuMemoryBytes);
        if (cap.isPresent()) {
            return List.of(cap.get());
        }
        Optional<TrainingPlan.Pool> pool = TrainingPlan.pool(train, gpuMemoryBytes);
        if (pool.isEmpty()) {
            return List.of();
        }
        return TrainingPlan.runs(train, pool.get(), hostMemoryBytes).stream()
                .filter(run -> !run.fit().fits())
                .map(run -> new Violation(run.field(), String.format(Locale.ROOT,
                        "does not fit the GPUs: needs %.2f GiB per GPU at seqLength %d with %s, %.2f GiB available "
                                + "(%s); %s", run.fit().asGiven().total() / GIB, run.config().seqLength(),
                        run.config().parallel(), pool.get().bytes() / GIB, pool.get().source(),
                        TrainingPlan.remedy(run.fit(), hostMemoryBytes))))
                .toList();
    }
}
