package io.easycontext.runtime.optim;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.model.Parameter;
import io.easycontext.runtime.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * AdamW with decoupled weight decay (Loshchilov &amp; Hutter; PyTorch's {@code torch.optim.AdamW}) over a fixed list
 * of parameters, with both moments in {@link Backend#statsType()}. Norm gains are not decayed
 * ({@link Parameter#decays()}).
 */
public final class AdamW implements AutoCloseable {

    /** PyTorch's defaults, except weight decay 0 as in Hugging Face's Trainer. */
    public record Hyper(double beta1, double beta2, double eps, double weightDecay) {
        public static final Hyper DEFAULTS = new Hyper(0.9, 0.999, 1e-8, 0);

        public Hyper {
            if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 && eps > 0 && weightDecay >= 0)) {
                throw new IllegalArgumentException("AdamW needs betas in [0, 1), eps > 0 and weight decay >= 0, got "
                        + beta1 + ", " + beta2 + ", " + eps + ", " + weightDecay);
            }
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
            slots.add(new Slot(p, master, backend.zeros(backend.statsType(), shape),
                    backend.zeros(backend.statsType(), shape)));
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
