package io.easycontext.runtime.optim;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.model.Parameter;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * AdamW with decoupled weight decay (Loshchilov &amp; Hutter; PyTorch's {@code torch.optim.AdamW}) over a fixed list
 * of parameters, with both moments in {@link Backend#statsType()} or, with {@link OptimizerMoments#BF16}, in bf16.
 * Norm gains are not decayed ({@link Parameter#decays()}).
 */
public final class AdamW implements AutoCloseable {

    /**
     * PyTorch's defaults, except weight decay 0 as in Hugging Face's Trainer; {@code moments}, the type both moments
     * are kept in wherever the state lives (fp32 by default).
     */
    public record Hyper(double beta1, double beta2, double eps, double weightDecay, OptimizerMoments moments) {
        public static final Hyper DEFAULTS = new Hyper(0.9, 0.999, 1e-8, 0);

        public Hyper {
            if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 && eps > 0 && weightDecay >= 0)) {
                throw new IllegalArgumentException("AdamW needs betas in [0, 1), eps > 0 and weight decay >= 0, got "
                        + beta1 + ", " + beta2 + ", " + eps + ", " + weightDecay);
            }
            if (moments == null) {
                throw new IllegalArgumentException("the AdamW moments' type must be given (OptimizerMoments.FP32)");
            }
        }

        /** With fp32 moments. */
        public Hyper(double beta1, double beta2, double eps, double weightDecay) {
            this(beta1, beta2, eps, weightDecay, OptimizerMoments.FP32);
        }

        /** These hyperparameters with the moments kept in {@code type}. */
        public Hyper withMoments(OptimizerMoments type) {
            return new Hyper(beta1, beta2, eps, weightDecay, type);
        }
    }

    /**
     * A parameter's moments, and its fp32 master copy where the parameter is stored in lower precision (bf16); null
     * otherwise. A training checkpoint saves and restores these tensors in place.
     */
    public record Slot(Parameter parameter, Tensor master, Tensor m, Tensor v) {
    }

    private final Hyper hyper;
    private final List<Slot> slots = new ArrayList<>();
    private long steps;

    public AdamW(Backend backend, List<Parameter> parameters, Hyper hyper) {
        this.hyper = hyper;
        for (Parameter p : parameters) {
            int[] shape = p.value().shape();
            Tensor master = null;
            if (p.value().dtype() != backend.statsType()) {
                master = backend.allocate(backend.statsType(), shape);
                backend.copy(p.value(), master);
            }
            DType moments = hyper.moments().dtype(backend);
            slots.add(new Slot(p, master, backend.zeros(moments, shape), backend.zeros(moments, shape)));
        }
    }

    /** Updates every parameter from {@code gradScale ·} its gradient, at learning rate {@code lr}. */
    public void step(Backend backend, double lr, double gradScale) {
        steps++;
        for (Slot s : slots) {
            Parameter p = s.parameter();
            backend.adamW(p.value(), s.master(), p.grad(), s.m(), s.v(), lr, hyper.beta1(), hyper.beta2(), hyper.eps(),
                    p.decays() ? hyper.weightDecay() : 0, steps, gradScale);
        }
    }

    /** The hyperparameters, the moments' type among them. */
    public Hyper hyper() {
        return hyper;
    }

    /** Updates applied so far; the next {@link #step} is number {@code steps() + 1}. */
    public long steps() {
        return steps;
    }

    /** Every parameter's state, in the order of the parameters given. */
    public List<Slot> slots() {
        return List.copyOf(slots);
    }

    /** Sets the count of updates applied, when a checkpoint restores the moments they produced. */
    public void restoreSteps(long applied) {
        if (applied < 0) {
            throw new IllegalArgumentException("a negative step count " + applied);
        }
        steps = applied;
    }

    @Override
    public void close() {
        for (Slot s : slots) {
            s.m().close();
            s.v().close();
            if (s.master() != null) {
                s.master().close();
            }
        }
    }
}
