package io.easycontext.service.plan;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import io.easycontext.runtime.spec.TrainSpec;
import io.easycontext.runtime.spec.Violation;
import io.easycontext.service.job.JobKind;
import io.easycontext.service.job.JobRejectedException;
import io.easycontext.service.job.spec.JobSpec;
import io.easycontext.service.node.NodeGpus;
import io.easycontext.service.node.NodeHostMemory;
import org.springframework.stereotype.Component;

/** Plans a valid job spec against this node's GPUs and host memory, as admission would judge it. */
@Component
class NodePlans {

    private final NodeGpus gpus;
    private final NodeHostMemory host;

    NodePlans(NodeGpus gpus, NodeHostMemory host) {
        this.gpus = gpus;
        this.host = host;
    }

    /**
     * @throws JobRejectedException for what has no memory plan here: a kind other than TRAIN, a training on the CPU
     *     backend (the planner sizes GPU ranks' pools), more GPUs than the node has, or a cap above its GPUs' memory.
     *     Each would be refused at submission too, or has nothing to plan; a 400 says so on the field
     */
    PlanResponse plan(JobSpec spec) {
        List<Violation> refused = new ArrayList<>();
        if (spec.kind() != JobKind.TRAIN) {
            refused.add(new Violation("kind", "must be TRAIN: the memory planner plans trainings, not "
                    + spec.kind()));
        } else if (spec.gpus() == 0) {
            refused.add(new Violation("gpus", "must be at least 1: the memory planner plans GPU ranks, and gpus 0 "
                    + "runs on the CPU backend"));
        } else {
            gpus.tooFewFor(spec.gpus()).ifPresent(refused::add);
            TrainingPlan.capViolation(spec.train(), gpus.memoryBytes()).ifPresent(refused::add);
        }
        if (!refused.isEmpty()) {
            throw new JobRejectedException(refused);
        }
        TrainSpec train = spec.train();
        long hostBytes = host.bytes();
        Long hostMemory = hostBytes == Long.MAX_VALUE ? null : hostBytes;
        Optional<TrainingPlan.Pool> pool = TrainingPlan.pool(train, gpus.memoryBytes());
        if (pool.isEmpty()) {
            return new PlanResponse(null, "unknown: the GPUs' memory cannot be read here (set "
                    + "easycontext.node.gpu-memory-gib) and the spec has no gpuMemoryGib", hostMemory,
                    train.autoMemory(), TrainingPlan.layouts(train).stream().map(PlanResponse::unplaced).toList());
        }
        return new PlanResponse(pool.get().bytes(), pool.get().source(), hostMemory, train.autoMemory(),
                TrainingPlan.runs(train, pool.get(), hostBytes).stream()
                        .map(run -> PlanResponse.planned(run, hostBytes)).toList());
    }
}
