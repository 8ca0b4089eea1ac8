package io.easycontext.runtime.parallel;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.comm.Communicator;
import io.easycontext.runtime.model.AttentionOp;
import io.easycontext.runtime.model.AttentionState;
import io.easycontext.runtime.tensor.Tensor;

/**
 * DeepSpeed-Ulysses around an inner attention: an all-to-all turns sequence shards {@code [b, t/U, h, d]} into head
 * shards {@code [b, t, h/U, d]}, the inner op attends over the whole (Ulysses group's) sequence for those heads, and
 * the reverse all-to-all brings the output back to sequence shards. Backward mirrors it: {@code dOut} goes to head
 * shards, the inner backward runs, {@code dq, dk, dv} come back.
 *
 * <p>Query and key/value heads are split by {@code U} alike, so rank {@code u} gets query heads
 * {@code [u·hq/U, (u+1)·hq/U)} and exactly the kv heads they read under grouped-query attention,
 * {@code [u·hkv/U, (u+1)·hkv/U)}. The inner op is local causal attention (ulysses_attn) or the zigzag ring across
 * Ulysses groups (usp_attn).
 */
public final class UlyssesAttention implements AttentionOp {

    /**
     * The inner op's state and the head-sharded inputs and output it refers to, which this op allocated. The backward
     * closes it as soon as the inner backward has run, so that the all-to-alls of dq, dk, dv do not hold it; the
     * model's close after that finds it closed.
     */
    private static final class State implements AttentionState {
        private final AttentionState inner;
        private final Scratch kept;
        private final int[] qHeads;
        private final int[] kvHeads;
        private boolean closed;

        State(AttentionState inner, Scratch kept, int[] qHeads, int[] kvHeads) {
            this.inner = inner;
            this.kept = kept;
            this.qHeads = qHeads;
            this.kvHeads = kvHeads;
        }

        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            try {
                inner.close();
            } finally {
                kept.close();
            }
        }

        /** Frees the head shards alone and hands the inner state to the caller; this state is closed after. */
        AttentionState releaseHeads() {
            closed = true;
            try {
                kept.close();
            } catch (RuntimeException | Error e) {
                inner.close();
                throw e;
            }
            return inner;
        }
    }

    /** What {@link #detach} keeps: the inner op's detached state (its lse). */
    private record Detached(AttentionState inner) implements AttentionState {
        @Override
        public void close() {
            inner.close();
        }
    }

    private static final int TOKENS = 1;
    private static final int HEADS = 2;

    private final Communicator ulysses;
    private final AttentionOp inner;

    public UlyssesAttention(Communicator ulysses, AttentionOp inner) {
        this.ulysses = ulysses;
        this.inner = inner;
    }

    @Override
    public AttentionState forward(Backend backend, Tensor q, Tensor k, Tensor v, double scale, Tensor out) {
        Scratch kept = new Scratch(backend);
        Tensor qh = toHeads(kept, q);
        Tensor kh = toHeads(kept, k);
        Tensor vh = toHeads(kept, v);
        Tensor outh = kept.like(qh);
        AttentionState innerState = inner.forward(backend, qh, kh, vh, scale, outh);
        ulysses.allToAll(outh, out, TOKENS, HEADS);
        return new State(innerState, kept, qh.shape(), kh.shape());
    }

    /** The head shards are q, k, v and out's bytes again: a rebind makes them anew from the model's. */
    @Override
    public AttentionState detach(Backend backend, AttentionState state) {
        return new Detached(inner.detach(backend, ((State) state).releaseHeads()));
    }

    /**
     * The all-to-alls of the forward again, for the recomputed q, k, v and the kept output: a permutation, so the
     * head shards are the forward's bit for bit, and the inner op rebinds to them.
     */
    @Override
    public AttentionState rebind(Backend backend, AttentionState kept, Tensor q, Tensor k, Tensor v, Tensor out) {
        AttentionState innerKept = ((Detached) kept).inner();
        Scratch heads = new Scratch(backend);
        try {
            Tensor qh = toHeads(heads, q);
            Tensor kh = toHeads(heads, k);
            Tensor vh = toHeads(heads, v);
            Tensor outh = toHeads(heads, out);
            AttentionState taken = innerKept;
            innerKept = null;
            return new State(inner.rebind(backend, taken, qh, kh, vh, outh), heads, qh.shape(), kh.shape());
        } catch (RuntimeException | Error e) {
            heads.close();
            if (innerKept != null) {
                innerKept.close();
            }
            throw e;
        }
    }

    /** Ulysses' state keeps head-sharded copies of q, k, v; the model's sequence shards are dead after the forward. */
    @Override
    public boolean readsInputsInBackward() {
        return false;
    }

    /**
     * Each head-sharded buffer is freed once read for the last time, and dq goes last: its all-to-all packs the
     * most (q's bytes, twice), and by then only dq's head shards are left beside it.
     */
    @Override
    public void backward(Backend backend, AttentionState state, Tensor dOut, Tensor dq, Tensor dk, Tensor dv) {
        State st = (State) state;
        if (st.closed) {
            throw new IllegalStateException("the Ulysses state was closed (a second backward?)");
        }
        try (Scratch temp = new Scratch(backend)) {
            Tensor dOuth = toHeads(temp, dOut);
            Tensor dqh = temp.allocate(dq.dtype(), st.qHeads);
            Tensor dkh = temp.allocate(dk.dtype(), st.kvHeads);
            Tensor dvh = temp.allocate(dv.dtype(), st.kvHeads);
            inner.backward(backend, st.inner, dOuth, dqh, dkh, dvh);
            temp.release(dOuth);
            st.close();
            ulysses.allToAll(dkh, dk, TOKENS, HEADS);
            temp.release(dkh);
            ulysses.allToAll(dvh, dv, TOKENS, HEADS);
            temp.release(dvh);
            ulysses.allToAll(dqh, dq, TOKENS, HEADS);
        }
    }

    /** {@code [b, t/U, h, d]} → {@code [b, t, h/U, d]}. */
    private Tensor toHeads(Scratch scratch, Tensor x) {
        int u = ulysses.size();
        Tensor heads = scratch.allocate(x.dtype(), x.dim(0), x.dim(1) * u, x.dim(2) / u, x.dim(3));
        ulysses.allToAll(x, heads, HEADS, TOKENS);
        return heads;
    }
}
