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

    /** The local tokens of one step and what every layer needs to process them. */
    record Step(Backend backend, LlamaConfig config, int batch, int length, Tensor positions, Tensor invFreq,
                AttentionOp attention) {
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

    /** What the backward reads. {@code x}, the layer's input, belongs to the caller; the rest is closed here. */
    record Activations(Tensor x, Tensor n1, Tensor rstd1, Tensor q, Tensor k, Tensor v, AttentionState attention,
                       Tensor attnOut, Tensor h, Tensor n2, Tensor rstd2, Tensor gate, Tensor up, Tensor act)
            implements AutoCloseable {
        @Override
        public void close() {
            attention.close();
            for (Tensor t : new Tensor[]{n1, rstd1, q, k, v, attnOut, h, n2, rstd2, gate, up, act}) {
                t.close();
            }
        }
    }

    private DecoderLayer() {
    }

    /**
     * Runs the layer on {@code x} and writes {@code y}. With {@code y == null} it stops before the down projection,
     * whose output the backward never reads: that is the recomputation of activation checkpointing.
     */
    static Activations forward(Step s, LlamaWeights.Layer w, Tensor x, Tensor y) {
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
        Tensor gate = s.floats(n, c.intermediateSize());
        Tensor up = s.floats(n, c.intermediateSize());
        Tensor act = s.floats(n, c.intermediateSize());
        b.matmul(n2, false, w.gate().value(), true, gate, 1, 0);
        b.matmul(n2, false, w.up().value(), true, up, 1, 0);
        b.swiGluForward(gate, up, act);
        if (y != null) {
            b.copy(h, y);
            b.matmul(act, false, w.down().value(), true, y, 1, 1);
        }
        return new Activations(x, n1, rstd1, q, k, v, state, attnOut, h, n2, rstd2, gate, up, act);
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
            try (Tensor dAct = s.floats(n, c.intermediateSize());
                 Tensor dGate = s.floats(n, c.intermediateSize());
                 Tensor dUp = s.floats(n, c.intermediateSize())) {
                b.matmul(dResidual, false, w.down().value(), false, dAct, 1, 0);
                b.matmul(dResidual, true, a.act(), false, w.down().grad(), 1, 1);
                b.swiGluBackward(dAct, a.gate(), a.up(), dGate, dUp);
                b.matmul(dGate, false, w.gate().value(), false, dNormed, 1, 0);
                b.matmul(dUp, false, w.up().value(), false, dNormed, 1, 1);
                b.matmul(dGate, true, a.n2(), false, w.gate().grad(), 1, 1);
                b.matmul(dUp, true, a.n2(), false, w.up().grad(), 1, 1);
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
