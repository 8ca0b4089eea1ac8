package io.easycontext.runtime.model;

import io.easycontext.runtime.backend.AttentionMask;
import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.tensor.Tensor;

/** Single-device attention: the whole sequence is one causal block. */
public final class LocalAttention implements AttentionOp {

    public static final LocalAttention INSTANCE = new LocalAttention();

    /** The block's inputs and its result; only {@code lse} belongs to the state. */
    private record Saved(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, double scale) implements AttentionState {
        @Override
        public void close() {
            lse.close();
        }
    }

    private LocalAttention() {
    }

    @Override
    public AttentionState forward(Backend backend, Tensor q, Tensor k, Tensor v, double scale, Tensor out) {
        Tensor lse = backend.allocate(backend.statsType(), q.dim(0), q.dim(2), q.dim(1));
        backend.attentionForward(q, k, v, AttentionMask.CAUSAL_DIAGONAL, scale, out, lse);
        return new Saved(q, k, v, out, lse, scale);
    }

    /** The lse passes to the new state. */
    @Override
    public AttentionState rebind(Backend backend, AttentionState kept, Tensor q, Tensor k, Tensor v, Tensor out) {
        Saved s = (Saved) kept;
        return new Saved(q, k, v, out, s.lse, s.scale);
    }

    @Override
    public void backward(Backend backend, AttentionState state, Tensor dOut, Tensor dq, Tensor dk, Tensor dv) {
        Saved s = (Saved) state;
        backend.attentionBackward(dOut, s.out, s.lse, s.q, s.k, s.v, AttentionMask.CAUSAL_DIAGONAL, s.scale, dq, dk, dv);
    }
}
