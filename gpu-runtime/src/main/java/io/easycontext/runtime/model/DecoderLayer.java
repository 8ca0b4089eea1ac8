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
     * What the backward reads. {@code x}, the layer's input, belongs to the caller; the rest is closed here.
     * {@code gate}, {@code up} and {@code act} are null when the MLP is recomputed chunk by chunk in the backward.
     */
    record Activations(Tensor x, Tensor n1, Tensor rstd1, Tensor q, Tensor k, Tensor v, AttentionState attention,
                       Tensor attnOut, Tensor h, Tensor n2, Tensor rstd2, Tensor gate, Tensor up, Tensor act)
            implements AutoCloseable {
        @Override
        public void close() {
            attention.close();
            for (Tensor t : new Tensor[]{n1, rstd1, q, k, v, attnOut, h, n2, rstd2, gate, up, act}) {
                if (t != null) {
                    t.close();
                }
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

        Tensor attnOut = s.floats(n, c.qDim());
        AttentionState state = s.attention().forward(b, q4, k4, s.heads(v, c.numKeyValueHeads()),
                1 / Math.sqrt(c.headDim()), s.heads(attnOut, c.numAttentionHeads()));
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
     */
    static void backward(Step s, LlamaWeights.Layer w, Activations a, Tensor dResidual) {
        Backend b = s.backend();
        LlamaConfig c = s.config();
        int n = s.tokens();
        try (Tensor dNormed = s.floats(n, c.hiddenSize()); Tensor dBranch = s.floats(n, c.hiddenSize())) {
            if (a.gate() != null) {
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
            b.rmsNormBackward(dNormed, a.h(), w.postNorm().value(), a.rstd2(), dBranch, w.postNorm().grad());
            b.addScaledAccumulate(dResidual, dBranch, 1);

            try (Tensor dAttnOut = s.floats(n, c.qDim());
                 Tensor dq = s.floats(n, c.qDim());
                 Tensor dk = s.floats(n, c.kvDim());
                 Tensor dv = s.floats(n, c.kvDim())) {
                b.matmul(dResidual, false, w.o().value(), false, dAttnOut, 1, 0);
                b.matmul(dResidual, true, a.attnOut(), false, w.o().grad(), 1, 1);
                Tensor dq4 = s.heads(dq, c.numAttentionHeads());
                Tensor dk4 = s.heads(dk, c.numKeyValueHeads());
                s.attention().backward(b, a.attention(), s.heads(dAttnOut, c.numAttentionHeads()), dq4, dk4,
                        s.heads(dv, c.numKeyValueHeads()));
                // A rotation's adjoint is its inverse.
                b.rope(dq4, s.positions(), s.invFreq(), true, dq4);
                b.rope(dk4, s.positions(), s.invFreq(), true, dk4);
                b.matmul(dq, false, w.q().value(), false, dNormed, 1, 0);
                b.matmul(dk, false, w.k().value(), false, dNormed, 1, 1);
                b.matmul(dv, false, w.v().value(), false, dNormed, 1, 1);
                b.matmul(dq, true, a.n1(), false, w.q().grad(), 1, 1);
                b.matmul(dk, true, a.n1(), false, w.k().grad(), 1, 1);
                b.matmul(dv, true, a.n1(), false, w.v().grad(), 1, 1);
            }
            b.rmsNormBackward(dNormed, a.x(), w.inputNorm().value(), a.rstd1(), dBranch, w.inputNorm().grad());
            b.addScaledAccumulate(dResidual, dBranch, 1);
        }
    }
}
