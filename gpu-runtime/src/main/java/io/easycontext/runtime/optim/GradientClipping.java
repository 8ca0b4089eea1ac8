package io.easycontext.runtime.optim;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.comm.Communicator;
import io.easycontext.runtime.comm.ReduceOp;
import io.easycontext.runtime.model.Parameter;
import io.easycontext.runtime.tensor.Tensor;

import java.util.List;

/** Global gradient-norm clipping as PyTorch's {@code clip_grad_norm_}, applied as AdamW's gradient scale. */
public final class GradientClipping {

    /** PyTorch's guard against dividing by a zero norm. */
    private static final double EPS = 1e-6;

    private GradientClipping() {
    }

    /** The L2 norm of all gradients together. After an all-reduce every rank holds the same gradients and norm. */
    public static double globalNorm(Backend backend, List<Parameter> parameters) {
        double sum = 0;
        for (Parameter p : parameters) {
            sum += backend.sumOfSquares(p.grad());
        }
        return Math.sqrt(sum);
    }

    /**
     * The L2 norm of gradients sharded over {@code world}, each rank holding the reduced gradients of its {@code shard}:
     * the ranks' sums of squares, added in rank order, so every rank gets the same norm.
     */
    public static double globalNorm(Backend backend, Communicator world, Tensor shard) {
        return Math.sqrt(world.allReduce(backend.sumOfSquares(shard), ReduceOp.SUM));
    }

    /**
     * The factor that brings a gradient of {@code norm} down to {@code maxNorm}: {@code min(1, maxNorm/(norm+1e-6))}.
     * A {@code maxNorm} of 0 or less, or infinite, disables clipping.
     */
    public static double coefficient(double norm, double maxNorm) {
        if (!(maxNorm > 0) || Double.isInfinite(maxNorm)) {
            return 1;
        }
        return Math.min(1, maxNorm / (norm + EPS));
    }
}
