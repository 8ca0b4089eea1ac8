package io.easycontext.runtime.optim;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.model.Parameter;

import java.util.List;

/**
 * What happens once the gradients of a step are complete (all micro-batches accumulated, all ranks reduced):
 * clip by the global norm, apply AdamW at the scheduled rate, zero the gradients for the next step. A non-finite
 * norm stops training rather than write NaN into every weight.
 */
public final class Optimizer implements TrainingOptimizer {

    /** What a training log reports about one update. */
    public record Update(long step, double lr, double gradNorm, double clipCoefficient) {
    }

    private final List<Parameter> parameters;
    private final AdamW adamW;
    private final LrSchedule schedule;
    private final double maxGradNorm;

    /** {@code maxGradNorm} of 0 disables clipping. */
    public Optimizer(Backend backend, List<Parameter> parameters, AdamW.Hyper hyper, LrSchedule schedule,
                     double maxGradNorm) {
        this.parameters = List.copyOf(parameters);
        this.adamW = new AdamW(backend, this.parameters, hyper);
        this.schedule = schedule;
        this.maxGradNorm = maxGradNorm;
    }

    @Override
    public Update step(Backend backend) {
        long step = adamW.steps() + 1;
        double norm = GradientClipping.globalNorm(backend, parameters);
        if (!Double.isFinite(norm)) {
            // Every rank sees the same reduced norm, so all of them stop here together, weights untouched.
            throw new ArithmeticException("gradient norm is " + norm + " at step " + step);
        }
        double coefficient = GradientClipping.coefficient(norm, maxGradNorm);
        double lr = schedule.at(step);
        adamW.step(backend, lr, coefficient);
        for (Parameter p : parameters) {
            backend.fill(p.grad(), 0);
        }
        return new Update(step, lr, norm, coefficient);
    }

    @Override
    public long steps() {
        return adamW.steps();
    }

    @Override
    public OptimizerMoments moments() {
        return adamW.hyper().moments();
    }

    /** The AdamW state, for checkpoints. */
    public AdamW adamW() {
        return adamW;
    }

    @Override
    public void close() {
        adamW.close();
    }
}
