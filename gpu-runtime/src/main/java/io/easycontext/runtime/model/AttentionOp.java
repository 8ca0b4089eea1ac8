package io.easycontext.runtime.model;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.tensor.Tensor;

/** Attention over the local shard of a sequence; sequence-parallel modes implement it with communication. */
public interface AttentionOp {
    /** q [b, t, hq, d] (rope applied), k, v [b, t, hkv, d] for the LOCAL tokens; writes out [b, t, hq, d]; returns what backward needs. */
    AttentionState forward(Backend backend, Tensor q, Tensor k, Tensor v, double scale, Tensor out);

    /** Overwrites dq, dk, dv for the local tokens. */
    void backward(Backend backend, AttentionState state, Tensor dOut, Tensor dq, Tensor dk, Tensor dv);

    /**
     * Whether the backward reads the q, k, v the forward was given. An op whose state keeps copies of its own
     * (Ulysses' head shards) answers false, so that the model can free its q, k, v once the forward returns: at
     * long context they are gigabytes held beside their copies to the end of the attention's backward.
     */
    default boolean readsInputsInBackward() {
        return true;
    }

    /**
     * What of a forward's {@code state} to keep for a {@link #rebind} where its output is kept and the backward
     * recomputes only q, k, v: copies of the inputs that a rebind makes anew (Ulysses' head shards) are freed, the
     * rest (the log-sum-exp) returned. Takes ownership of {@code state}, and closes it if it throws.
     */
    default AttentionState detach(Backend backend, AttentionState state) {
        return state;
    }

    /**
     * A state equivalent to the forward's for {@code q, k, v} (the same values, recomputed) and the forward's
     * {@code out}, from what {@link #detach} kept, without running the attention: a recomputation at long context
     * spends its time in the attention forward (and its communication). Views as {@link #forward} takes them. Takes
     * ownership of {@code kept}, whose tensors pass to the returned state, and closes it if it throws.
     */
    AttentionState rebind(Backend backend, AttentionState kept, Tensor q, Tensor k, Tensor v, Tensor out);
}
