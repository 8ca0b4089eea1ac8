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
}
