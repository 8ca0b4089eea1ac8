package io.easycontext.runtime.parallel;

import io.easycontext.runtime.comm.Communicator;
import io.easycontext.runtime.comm.ReduceOp;
import io.easycontext.runtime.model.Parameter;

import java.util.List;

/**
 * The reductions that make a sequence- and data-parallel step equal to one big single-device step.
 *
 * <p>Every rank holds a full replica of the parameters. The model scales each rank's loss by {@code 1/N}, where
 * {@code N} is the number of targets of the whole step (all ranks, all micro-batches), so a rank's gradient is
 * {@code ∂(Σ its token losses)/∂θ / N}. The sequence-parallel attention has already returned every key/value
 * gradient to the rank that owns the token, so each rank's parameter gradient covers exactly its own tokens; the
 * sum over the <em>whole world</em> (sequence-parallel ranks hold different tokens, data-parallel groups different
 * sequences) is then the gradient of the mean loss. One all-reduce, summed in rank order, gives every rank the same
 * bits, so the replicas stay identical after the optimizer step.
 */
public final class GradientSync {

    private GradientSync() {
    }

    /** {@code N}: the targets that carry a loss, over every rank and micro-batch of the step. */
    public static long globalTargetCount(Communicator world, long localTargets) {
        return Math.round(world.allReduce(localTargets, ReduceOp.SUM));
    }

    /** Sums every parameter's gradient over the world, in place. */
    public static void allReduce(Communicator world, List<Parameter> parameters) {
        if (world.size() == 1) {
            return;
        }
        for (Parameter p : parameters) {
            world.allReduce(p.grad(), ReduceOp.SUM);
        }
    }
}
