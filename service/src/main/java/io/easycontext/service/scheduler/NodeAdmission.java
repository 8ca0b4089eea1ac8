package io.easycontext.service.scheduler;

import java.util.ArrayList;
import java.util.List;

import io.easycontext.runtime.spec.Violation;
import io.easycontext.service.execution.JobExecutors;
import io.easycontext.service.job.JobAdmission;
import io.easycontext.service.job.JobKind;
import io.easycontext.service.job.spec.JobSpec;
import io.easycontext.service.node.NodeGpus;
import io.easycontext.service.node.NodeHostMemory;
import org.springframework.stereotype.Component;

/**
 * Refuses at submission what this node could never run: more GPUs than it has, a kind it has no runner for, GPUs
 * for a runner that only uses the CPU, a training whose planned memory does not fit the node's GPUs
 * ({@link TrainingMemory}). Which GPUs a job names does not matter: the scheduler assigns them.
 */
@Component
class NodeAdmission implements JobAdmission {

    private final NodeGpus gpus;
    private final NodeHostMemory host;
    private final JobExecutors executors;

    NodeAdmission(NodeGpus gpus, NodeHostMemory host, JobExecutors executors) {
        this.gpus = gpus;
        this.host = host;
        this.executors = executors;
    }

    @Override
    public List<Violation> check(JobSpec spec) {
        List<Violation> violations = new ArrayList<>();
        gpus.tooFewFor(spec.gpus()).ifPresent(violations::add);
        if (spec.kind() == JobKind.TRAIN && spec.gpus() > 0 && spec.gpus() <= gpus.count()) {
            violations.addAll(TrainingMemory.check(spec.train(), gpus.memoryBytes(), host.bytes()));
        }
        executors.find(spec.kind()).ifPresentOrElse(
                executor -> {
                    if (spec.gpus() > 0 && !executor.runsOnGpus()) {
                        violations.add(new Violation("gpus",
                                "must be 0: " + spec.kind() + " jobs run on the CPU backend in this version"));
                    }
                },
                () -> violations.add(new Violation("kind",
                        "cannot run on this node: the runtime has no " + spec.kind() + " runner yet")));
        return violations;
    }
}
