package io.easycontext.runtime.model;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.tensor.Tensor;

/**
 * One Llama decoder layer, forward and backward:
 * <pre>
 *   h = x + o_proj(attention(rope(q_proj(n1)), rope(k_proj(n1)), v_proj(n1)))   n1 = rmsnorm(x)
 *   y = h + down_proj(silu(gate_proj(n2)) · up_proj(n2))                        n2 = rmsnorm(h)
 * </pre>
 * Activations are {@code [tokens, features]}; the projections' outputs are already attention's
 * {@code [b, t, heads, d]} layout, viewed as such.
 */
final class DecoderLayer {

    /**
     * The local tokens of one step and what every layer needs to process them. {@code mlpChunkTokens} bounds
     * the tokens whose MLP intermediates ([tokens, ffn] each) exist at once where they need not be kept.
     */
    record Step(Backend backend, LlamaConfig config, int batch, int length, Tensor positions, Tensor invFreq,
                AttentionOp attention, int mlpChunkTokens) {
        int tokens() {
            return batch * length;
        }

        Tensor heads(Tensor flat, int heads) {
            return backend.view(flat, 0, batch, length, heads, config.headDim());
        }

        Tensor floats(int... shape) {
            return backend.allocate(backend.floatType(), shape);
        }
    }

    /**
     * What the backward reads. {@code x}, the layer's input, belongs to the caller; the rest is closed here, each
     * tensor as soon as the backward has read it for the last time (the {@code release} methods, in the backward's
     * order) or by {@link #close} where it is still held then (a forward-only pass, an exception). {@code gate},
     * {@code up} and {@code act} are null when the MLP is recomputed chunk by chunk in the backward. A released
     * tensor's accessor throws, so that no op can read memory the pool has handed on.
     */
    static final class Activations implements AutoCloseable {
        private final Tensor x;
        private Tensor n1;
        private Tensor rstd1;
        private Tensor q;
        private Tensor k;
        private Tensor v;
        private AttentionState attention;
        private Tensor attnOut;
        private Tensor h;
        private Tensor n2;
        private Tensor rstd2;
        private Tensor gate;
        private Tensor up;
        private Tensor act;
        private final boolean keptMlp;

        Activations(Tensor x, Tensor n1, Tensor rstd1, Tensor q, Tensor k, Tensor v, AttentionState attention,
                    Tensor attnOut, Tensor h, Tensor n2, Tensor rstd2, Tensor gate, Tensor up, Tensor act) {
            this.x = x;
            this.n1 = n1;
            this.rstd1 = rstd1;
            this.q = q;
            this.k = k;
            this.v = v;
            this.attention = attention;
            this.attnOut = attnOut;
            this.h = h;
            this.n2 = n2;
            this.rstd2 = rstd2;
            this.gate = gate;
            this.up = up;
            this.act = act;
            this.keptMlp = gate != null;
        }

        private static <T> T held(T t, String name) {
            if (t == null) {
                throw new IllegalStateException(name + " was released");
            }
            return t;
        }

        Tensor x() {
            return x;
        }

        Tensor n1() {
            return held(n1, "n1");
        }

        Tensor rstd1() {
            return held(rstd1, "rstd1");
        }

        AttentionState attention() {
            return held(attention, "the attention state");
        }

        Tensor attnOut() {
            return held(attnOut, "attnOut");
        }

        Tensor h() {
            return held(h, "h");
        }

        Tensor n2() {
            return held(n2, "n2");
        }

        Tensor rstd2() {
            return held(rstd2, "rstd2");
        }

        /** Whether the forward kept the MLP's intermediates (else the backward recomputes them chunk by chunk). */
        boolean keptMlp() {
            return keptMlp;
        }

        Tensor gate() {
            return held(gate, "gate");
        }

        Tensor up() {
            return held(up, "up");
        }

        Tensor act() {
            return held(act, "act");
        }

        /** After the MLP's backward: n2 and the kept intermediates, read by nothing later. */
        void releaseMlpInputs() {
            n2 = release(n2);
            gate = release(gate);
            up = release(up);
            act = release(act);
        }

        /** After the post-attention norm's backward: h and its rstd. */
        void releasePostNormInputs() {
            h = release(h);
            rstd2 = release(rstd2);
        }

        /**
         * After the attention backward: q, k, v (null where the forward freed them already), the attention's output
         * and its state (lse and the like).
         */
        void releaseAttentionInputs() {
            if (attention != null) {
                attention.close();
                attention = null;
            }
            q = release(q);
            k = release(k);
            v = release(v);
            attnOut = release(attnOut);
        }

        /** After the q, k, v projections' weight gradients: n1. */
        void releaseProjectionInput() {
            n1 = release(n1);
        }

        private static Tensor release(Tensor t) {
            if (t != null) {
                t.close();
            }
            return null;
        }

        /**
         * For a layer whose attention is kept through activation checkpointing, after its forward: the attention
         * output and the op's state, detached ({@link AttentionOp#detach}); the rest is closed.
         */
        KeptAttention keepAttention(Step s) {
            KeptAttention kept = new KeptAttention(attnOut, attention);
            attnOut = null;
            attention = null;
            try {
                close();
                kept.detach(s);
            } catch (RuntimeException | Error e) {
                kept.close();
                throw e;
            }
            return kept;
        }

        /** Closes what is still held; released tensors were closed once already and are skipped. */
        @Override
        public void close() {
            releaseMlpInputs();
            releasePostNormInputs();
            releaseAttentionInputs();
            releaseProjectionInput();
            rstd1 = release(rstd1);
        }
    }

    /**
     * A layer's attention output {@code [tokens, qDim]} and its op's state, kept from the forward to the
     * recomputation of activation checkpointing, which then runs no attention forward: at long context the layer's
     * costliest op, and in the sequence-parallel modes all its communication. The recomputation takes both (the
     * output into its {@link Activations}, the state through {@link AttentionOp#rebind}); {@link #close} closes
     * what it has not taken, after a failure.
     */
    static final class KeptAttention implements AutoCloseable {
        private Tensor out;
        private AttentionState state;

        private KeptAttention(Tensor out, AttentionState state) {
            this.out = out;
            this.state = state;
        }

        private void detach(Step s) {
            // The op takes the state, and closes it if it throws: it must not be closed here again.
            AttentionState forward = state;
            state = null;
            state = s.attention().detach(s.backend(), forward);
        }

        /** The forward's state for the recomputed q, k, v ({@code [b, t, heads, d]} views); the op owns it after. */
        private AttentionState rebind(Step s, Tensor q, Tensor k, Tensor v) {
            AttentionState detached = state;
            state = null;
            return s.attention().rebind(s.backend(), detached, q, k, v, s.heads(out, s.config().numAttentionHeads()));
        }

        private Tensor takeOut() {
            Tensor t = out;
            out = null;
            return t;
        }

        @Override
        public void close() {
            if (state != null) {
                state.close();
                state = null;
            }
            if (out != null) {
                out.close();
                out = null;
            }
        }
    }

    private DecoderLayer() {
    }

    /**
     * Runs the layer on {@code x} and writes {@code y}. With {@code keepMlp} the MLP's intermediates are kept for
     * the backward; without, the MLP runs in chunks of tokens and the backward recomputes them chunk by chunk.
     * With {@code y == null} (the recomputation of activation checkpointing) it stops before the MLP, whose
     * output the backward never reads.
     */
    static Activations forward(Step s, LlamaWeights.Layer w, Tensor x, Tensor y, boolean keepMlp) {
        return forward(s, w, x, y, keepMlp, null);
    }

    /**
     * As above; where {@code kept} is given (a recomputation), the attention is not run again: the recomputed q, k,
     * v are the forward's bit for bit, so its output and state are rebound to them. {@code kept} is taken.
     */
    static Activations forward(Step s, LlamaWeights.Layer w, Tensor x, Tensor y, boolean keepMlp,
                               KeptAttention kept) {
        Backend b = s.backend();
        LlamaConfig c = s.config();
        int n = s.tokens();
        Tensor n1 = s.floats(n, c.hiddenSize());
        Tensor rstd1 = b.allocate(b.statsType(), n);
        b.rmsNormForward(x, w.inputNorm().value(), c.rmsNormEps(), n1, rstd1);

        Tensor q = s.floats(n, c.qDim());
        Tensor k = s.floats(n, c.kvDim());
        Tensor v = s.floats(n, c.kvDim());
        b.matmul(n1, false, w.q().value(), true, q, 1, 0);
        b.matmul(n1, false, w.k().value(), true, k, 1, 0);
        b.matmul(n1, false, w.v().value(), true, v, 1, 0);
        Tensor q4 = s.heads(q, c.numAttentionHeads());
        Tensor k4 = s.heads(k, c.numKeyValueHeads());
        b.rope(q4, s.positions(), s.invFreq(), false, q4);
        b.rope(k4, s.positions(), s.invFreq(), false, k4);

        Tensor v4 = s.heads(v, c.numKeyValueHeads());
        Tensor attnOut;
        AttentionState state;
        if (kept == null) {
            attnOut = s.floats(n, c.qDim());
            state = s.attention().forward(b, q4, k4, v4, 1 / Math.sqrt(c.headDim()),
                    s.heads(attnOut, c.numAttentionHeads()));
        } else {
            state = kept.rebind(s, q4, k4, v4);
            attnOut = kept.takeOut();
        }
        if (!s.attention().readsInputsInBackward()) {
            // Nothing below reads them either: the rope backward rotates dq and dk, not q and k.
            q.close();
            k.close();
            v.close();
            q = null;
            k = null;
            v = null;
        }
        Tensor h = s.floats(n, c.hiddenSize());
        b.copy(x, h);
        b.matmul(attnOut, false, w.o().value(), true, h, 1, 1);

        Tensor n2 = s.floats(n, c.hiddenSize());
        Tensor rstd2 = b.allocate(b.statsType(), n);
        b.rmsNormForward(h, w.postNorm().value(), c.rmsNormEps(), n2, rstd2);
        if (keepMlp) {
            Tensor gate = s.floats(n, c.intermediateSize());
            Tensor up = s.floats(n, c.intermediateSize());
            Tensor act = s.floats(n, c.intermediateSize());
            mlpForward(b, w, n2, gate, up, act, h, y);
            return new Activations(x, n1, rstd1, q, k, v, state, attnOut, h, n2, rstd2, gate, up, act);
        }
        if (y != null) {
            try (MlpChunks chunks = new MlpChunks(s)) {
                for (int t0 = 0; t0 < n; t0 += chunks.tokens) {
                    int rows = Math.min(chunks.tokens, n - t0);
                    mlpForward(b, w, rows(s, n2, t0, rows), chunks.gate(rows), chunks.up(rows), chunks.act(rows),
                            rows(s, h, t0, rows), rows(s, y, t0, rows));
                }
            }
        }
        return new Activations(x, n1, rstd1, q, k, v, state, attnOut, h, n2, rstd2, null, null, null);
    }

    /** gate, up, act from n2; then {@code y = h + act·W_downᵀ} where {@code y} is given. */
    private static void mlpForward(Backend b, LlamaWeights.Layer w, Tensor n2, Tensor gate, Tensor up, Tensor act,
                                   Tensor h, Tensor y) {
        b.matmul(n2, false, w.gate().value(), true, gate, 1, 0);
        b.matmul(n2, false, w.up().value(), true, up, 1, 0);
        b.swiGluForward(gate, up, act);
        if (y != null) {
            b.copy(h, y);
            b.matmul(act, false, w.down().value(), true, y, 1, 1);
        }
    }

    /**
     * MLP backward over some tokens: {@code dNormed} (∂L/∂n2) is overwritten from {@code dResidual} (∂L/∂y);
     * the MLP's weight gradients accumulate.
     */
    private static void mlpBackward(Step s, LlamaWeights.Layer w, Tensor n2, Tensor gate, Tensor up, Tensor act,
                                    Tensor dResidual, Tensor dNormed) {
        Backend b = s.backend();
        int rows = n2.dim(0);
        int ffn = s.config().intermediateSize();
        try (Tensor dAct = s.floats(rows, ffn); Tensor dGate = s.floats(rows, ffn); Tensor dUp = s.floats(rows, ffn)) {
            b.matmul(dResidual, false, w.down().value(), false, dAct, 1, 0);
            b.matmul(dResidual, true, act, false, w.down().grad(), 1, 1);
            b.swiGluBackward(dAct, gate, up, dGate, dUp);
            b.matmul(dGate, false, w.gate().value(), false, dNormed, 1, 0);
            b.matmul(dUp, false, w.up().value(), false, dNormed, 1, 1);
            b.matmul(dGate, true, n2, false, w.gate().grad(), 1, 1);
            b.matmul(dUp, true, n2, false, w.up().grad(), 1, 1);
        }
    }

    /** Rows {@code [t0, t0 + rows)} of a {@code [tokens, features]} activation. */
    private static Tensor rows(Step s, Tensor t, int t0, int rows) {
        int features = t.dim(1);
        return s.backend().view(t, (long) t0 * features, rows, features);
    }

    /** The MLP intermediates of one chunk of tokens, reused chunk after chunk. */
    private static final class MlpChunks implements AutoCloseable {
        final int tokens;
        private final Step s;
        private final Tensor gate;
        private final Tensor up;
        private final Tensor act;

        MlpChunks(Step s) {
            this.s = s;
            this.tokens = Math.min(s.mlpChunkTokens(), s.tokens());
            int ffn = s.config().intermediateSize();
            gate = s.floats(tokens, ffn);
            up = s.floats(tokens, ffn);
            act = s.floats(tokens, ffn);
        }

        Tensor gate(int rows) {
            return rows(s, gate, 0, rows);
        }

        Tensor up(int rows) {
            return rows(s, up, 0, rows);
        }

        Tensor act(int rows) {
            return rows(s, act, 0, rows);
        }

        @Override
        public void close() {
            gate.close();
            up.close();
            act.close();
        }
    }

    /**
     * On entry {@code dResidual} holds ∂L/∂y, on exit ∂L/∂x: both residual connections pass the gradient through
     * unchanged, so each branch's input gradient is added in place. Parameter gradients accumulate.
     *
     * <p>Each tensor lives only while some op still reads it, so that the peak is the largest of the phases (what
     * {@code MemoryPlanner} adds up): the MLP's backward (the recomputed activations, ∂L/∂n2 and one chunk's
     * intermediates and their gradients), then the attention's (n1, q, k, v, the attention output and state, with
     * ∂L/∂out, dq, dk, dv), then the projections' (n1, dq, dk, dv and ∂L/∂n1). {@code a} is left with rstd1 only.
     */
    static void backward(Step s, LlamaWeights.Layer w, Activations a, Tensor dResidual) {
        Backend b = s.backend();
        LlamaConfig c = s.config();
        int n = s.tokens();
        try (Tensor dNormed = s.floats(n, c.hiddenSize())) {
            if (a.keptMlp()) {
                mlpBackward(s, w, a.n2(), a.gate(), a.up(), a.act(), dResidual, dNormed);
            } else {
                try (MlpChunks chunks = new MlpChunks(s)) {
                    for (int t0 = 0; t0 < n; t0 += chunks.tokens) {
                        int rows = Math.min(chunks.tokens, n - t0);
                        Tensor n2 = rows(s, a.n2(), t0, rows);
                        mlpForward(b, w, n2, chunks.gate(rows), chunks.up(rows), chunks.act(rows), null, null);
                        mlpBackward(s, w, n2, chunks.gate(rows), chunks.up(rows), chunks.act(rows),
                                rows(s, dResidual, t0, rows), rows(s, dNormed, t0, rows));
                    }
                }
            }
            // n2's memory serves dBranch.
            a.releaseMlpInputs();
            try (Tensor dBranch = s.floats(n, c.hiddenSize())) {
                b.rmsNormBackward(dNormed, a.h(), w.postNorm().value(), a.rstd2(), dBranch, w.postNorm().grad());
                b.addScaledAccumulate(dResidual, dBranch, 1);
            }
        }
        a.releasePostNormInputs();

        Tensor dNormed = attentionBackward(s, w, a, dResidual);
        try (dNormed; Tensor dBranch = s.floats(n, c.hiddenSize())) {
            b.rmsNormBackward(dNormed, a.x(), w.inputNorm().value(), a.rstd1(), dBranch, w.inputNorm().grad());
            b.addScaledAccumulate(dResidual, dBranch, 1);
        }
    }

    /**
     * The attention branch's backward from ∂L/∂h in {@code dResidual}: returns ∂L/∂n1 (the caller's to close), having
     * released what the attention read before the projections' gradients, and n1 after them.
     */
    private static Tensor attentionBackward(Step s, LlamaWeights.Layer w, Activations a, Tensor dResidual) {
        Backend b = s.backend();
        LlamaConfig c = s.config();
        int n = s.tokens();
        try (Tensor dq = s.floats(n, c.qDim());
             Tensor dk = s.floats(n, c.kvDim());
             Tensor dv = s.floats(n, c.kvDim())) {
            Tensor dq4 = s.heads(dq, c.numAttentionHeads());
            Tensor dk4 = s.heads(dk, c.numKeyValueHeads());
            try (Tensor dAttnOut = s.floats(n, c.qDim())) {
                b.matmul(dResidual, false, w.o().value(), false, dAttnOut, 1, 0);
                b.matmul(dResidual, true, a.attnOut(), false, w.o().grad(), 1, 1);
                s.attention().backward(b, a.attention(), s.heads(dAttnOut, c.numAttentionHeads()), dq4, dk4,
                        s.heads(dv, c.numKeyValueHeads()));
            }
            a.releaseAttentionInputs();
            // A rotation's adjoint is its inverse.
            b.rope(dq4, s.positions(), s.invFreq(), true, dq4);
            b.rope(dk4, s.positions(), s.invFreq(), true, dk4);
            Tensor dNormed = s.floats(n, c.hiddenSize());
            try {
                b.matmul(dq, false, w.q().value(), false, dNormed, 1, 0);
                b.matmul(dk, false, w.k().value(), false, dNormed, 1, 1);
                b.matmul(dv, false, w.v().value(), false, dNormed, 1, 1);
                b.matmul(dq, true, a.n1(), false, w.q().grad(), 1, 1);
                b.matmul(dk, true, a.n1(), false, w.k().grad(), 1, 1);
                b.matmul(dv, true, a.n1(), false, w.v().grad(), 1, 1);
            } catch (RuntimeException | Error e) {
                dNormed.close();
                throw e;
            }
            a.releaseProjectionInput();
            return dNormed;
        }
    }
}
