package io.easycontext.runtime.backend.cpu;

import io.easycontext.runtime.backend.AttentionMask;
import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tensor.Tensor;

import java.util.Arrays;

/**
 * The reference backend: every op in float64 arithmetic, stored as float32 ({@link DType#F32}, what the model
 * trains with here) or float64 ({@link DType#F64}, for finite-difference gradient checks). Ops run on the
 * calling thread plus the common fork-join pool and are synchronous.
 */
public final class CpuBackend implements Backend {

    private final DType floatType;

    /** {@code floatType} is {@link DType#F32} or {@link DType#F64}. */
    public CpuBackend(DType floatType) {
        Checks.require(floatType == DType.F32 || floatType == DType.F64,
                "the CPU backend computes in F32 or F64, not %s", floatType);
        this.floatType = floatType;
    }

    @Override
    public String name() {
        return floatType == DType.F32 ? "cpu-f32" : "cpu-f64";
    }

    @Override
    public DType floatType() {
        return floatType;
    }

    // ---- memory -------------------------------------------------------------------------------------------

    @Override
    public Tensor allocate(DType dtype, int... shape) {
        return CpuTensor.allocate(dtype, shape);
    }

    @Override
    public Tensor zeros(DType dtype, int... shape) {
        return CpuTensor.allocate(dtype, shape); // Java arrays start zeroed
    }

    @Override
    public Tensor view(Tensor base, long offset, int... shape) {
        CpuTensor t = CpuTensor.of(base);
        return new CpuTensor(t.dtype(), shape, t.data, t.ints, Math.toIntExact(t.offset + offset));
    }

    @Override
    public void upload(Tensor dst, float[] src) {
        CpuTensor t = CpuTensor.of(dst);
        Checks.floating(t, "dst");
        Checks.require(src.length == t.numel(), "%d values for %s", src.length, t);
        for (int i = 0; i < src.length; i++) {
            t.data[t.offset + i] = t.round(src[i]);
        }
    }

    @Override
    public void uploadDoubles(Tensor dst, double[] src) {
        CpuTensor t = CpuTensor.of(dst);
        Checks.floating(t, "dst");
        Checks.require(src.length == t.numel(), "%d values for %s", src.length, t);
        for (int i = 0; i < src.length; i++) {
            t.data[t.offset + i] = t.round(src[i]);
        }
    }

    @Override
    public void uploadInts(Tensor dst, int[] src) {
        CpuTensor t = CpuTensor.of(dst);
        Checks.ints(t, "dst");
        Checks.require(src.length == t.numel(), "%d values for %s", src.length, t);
        System.arraycopy(src, 0, t.ints, t.offset, src.length);
    }

    @Override
    public double[] download(Tensor src) {
        CpuTensor t = CpuTensor.of(src);
        Checks.floating(t, "src");
        double[] out = new double[(int) t.numel()];
        System.arraycopy(t.data, t.offset, out, 0, out.length);
        return out;
    }

    @Override
    public int[] downloadInts(Tensor src) {
        CpuTensor t = CpuTensor.of(src);
        Checks.ints(t, "src");
        int[] out = new int[(int) t.numel()];
        System.arraycopy(t.ints, t.offset, out, 0, out.length);
        return out;
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        CpuTensor s = CpuTensor.of(src);
        CpuTensor d = CpuTensor.of(dst);
        Checks.sameSize(s, d, "src", "dst");
        int n = (int) s.numel();
        if (s.ints != null || d.ints != null) {
            Checks.require(s.ints != null && d.ints != null, "cannot copy %s into %s", s, d);
            System.arraycopy(s.ints, s.offset, d.ints, d.offset, n);
        } else if (s.dtype() == d.dtype() || d.dtype() == DType.F64) {
            System.arraycopy(s.data, s.offset, d.data, d.offset, n);
        } else {
            for (int i = 0; i < n; i++) {
                d.data[d.offset + i] = d.round(s.data[s.offset + i]);
            }
        }
    }

    @Override
    public void fill(Tensor dst, double value) {
        CpuTensor t = CpuTensor.of(dst);
        int from = t.offset;
        int to = t.offset + (int) t.numel();
        if (t.ints != null) {
            Arrays.fill(t.ints, from, to, (int) value);
        } else {
            Arrays.fill(t.data, from, to, t.round(value));
        }
    }

    // ---- elementwise --------------------------------------------------------------------------------------

    @Override
    public void addScaledAccumulate(Tensor acc, Tensor x, double alpha) {
        CpuTensor a = CpuTensor.of(acc);
        CpuTensor b = CpuTensor.of(x);
        Checks.sameSize(a, b, "acc", "x");
        Parallel.forRange((int) a.numel(), 1, (from, to) -> {
            for (int i = from; i < to; i++) {
                a.data[a.offset + i] = a.round(a.data[a.offset + i] + alpha * b.data[b.offset + i]);
            }
        });
    }

    @Override
    public void scale(Tensor x, double alpha) {
        CpuTensor a = CpuTensor.of(x);
        Parallel.forRange((int) a.numel(), 1, (from, to) -> {
            for (int i = from; i < to; i++) {
                a.data[a.offset + i] = a.round(alpha * a.data[a.offset + i]);
            }
        });
    }

    @Override
    public double sumOfSquares(Tensor x) {
        CpuTensor a = CpuTensor.of(x);
        return Parallel.sum((int) a.numel(), 1, (from, to) -> {
            double s = 0;
            for (int i = from; i < to; i++) {
                double v = a.data[a.offset + i];
                s += v * v;
            }
            return s;
        });
    }

    // ---- GEMM ---------------------------------------------------------------------------------------------

    @Override
    public void matmul(Tensor a, boolean transA, Tensor b, boolean transB, Tensor c, double alpha, double beta) {
        CpuMatmul.matmul(CpuTensor.of(a), transA, CpuTensor.of(b), transB, CpuTensor.of(c), alpha, beta);
    }

    // ---- embedding ----------------------------------------------------------------------------------------

    @Override
    public void embeddingForward(Tensor weight, Tensor ids, Tensor out) {
        CpuTensor w = CpuTensor.of(weight);
        CpuTensor id = CpuTensor.of(ids);
        CpuTensor o = CpuTensor.of(out);
        int n = (int) id.numel();
        int vocab = w.dim(0);
        int hidden = w.dim(1);
        Checks.ints(id, "ids");
        Checks.shape(o, "out", n, hidden);
        Parallel.forRange(n, hidden, (from, to) -> {
            for (int i = from; i < to; i++) {
                int row = id.ints[id.offset + i];
                Checks.index(row, vocab, "token id");
                for (int c = 0; c < hidden; c++) {
                    o.data[o.offset + i * hidden + c] = o.round(w.data[w.offset + row * hidden + c]);
                }
            }
        });
    }

    @Override
    public void embeddingBackward(Tensor dOut, Tensor ids, Tensor dWeight) {
        CpuTensor g = CpuTensor.of(dOut);
        CpuTensor id = CpuTensor.of(ids);
        CpuTensor dw = CpuTensor.of(dWeight);
        int n = (int) id.numel();
        int hidden = dw.dim(1);
        Checks.ints(id, "ids");
        Checks.shape(g, "dOut", n, hidden);
        // A token may repeat, so tasks own column ranges of the table rather than rows of dOut.
        Parallel.forRange(hidden, n, (from, to) -> {
            for (int i = 0; i < n; i++) {
                int row = dw.offset + id.ints[id.offset + i] * hidden;
                int src = g.offset + i * hidden;
                for (int c = from; c < to; c++) {
                    dw.data[row + c] = dw.round(dw.data[row + c] + g.data[src + c]);
                }
            }
        });
    }

    // ---- RMSNorm ------------------------------------------------------------------------------------------

    @Override
    public void rmsNormForward(Tensor x, Tensor weight, double eps, Tensor out, Tensor rstd) {
        CpuNorms.rmsNormForward(CpuTensor.of(x), CpuTensor.of(weight), eps, CpuTensor.of(out), CpuTensor.of(rstd));
    }

    @Override
    public void rmsNormBackward(Tensor dOut, Tensor x, Tensor weight, Tensor rstd, Tensor dx, Tensor dWeight) {
        CpuNorms.rmsNormBackward(CpuTensor.of(dOut), CpuTensor.of(x), CpuTensor.of(weight), CpuTensor.of(rstd),
                CpuTensor.of(dx), CpuTensor.of(dWeight));
    }

    // ---- rotary embedding ---------------------------------------------------------------------------------

    @Override
    public void rope(Tensor x, Tensor positions, Tensor invFreq, boolean inverse, Tensor out) {
        CpuTensor in = CpuTensor.of(x);
        CpuTensor pos = CpuTensor.of(positions);
        CpuTensor freq = CpuTensor.of(invFreq);
        CpuTensor o = CpuTensor.of(out);
        Checks.rank(in, 4, "x");
        Checks.sameShape(in, o, "x", "out");
        int b = in.dim(0);
        int t = in.dim(1);
        int heads = in.dim(2);
        int d = in.dim(3);
        int half = d / 2;
        Checks.require(d % 2 == 0, "rope needs an even head size, got %d", d);
        Checks.ints(pos, "positions");
        Checks.shape(pos, "positions", b, t);
        Checks.shape(freq, "invFreq", half);
        double sign = inverse ? -1 : 1;
        Parallel.forRange(b * t, (long) heads * d + 20L * half, (from, to) -> {
            double[] cos = new double[half];
            double[] sin = new double[half];
            for (int token = from; token < to; token++) {
                int p = pos.ints[pos.offset + token];
                for (int j = 0; j < half; j++) {
                    double angle = p * freq.data[freq.offset + j];
                    cos[j] = Math.cos(angle);
                    sin[j] = sign * Math.sin(angle);
                }
                for (int h = 0; h < heads; h++) {
                    int base = (token * heads + h) * d;
                    int xi = in.offset + base;
                    int oi = o.offset + base;
                    for (int j = 0; j < half; j++) {
                        // rotate-half: the pair is (x[j], x[j + d/2]), not adjacent elements.
                        double x1 = in.data[xi + j];
                        double x2 = in.data[xi + j + half];
                        o.data[oi + j] = o.round(x1 * cos[j] - x2 * sin[j]);
                        o.data[oi + j + half] = o.round(x2 * cos[j] + x1 * sin[j]);
                    }
                }
            }
        });
    }

    // ---- SwiGLU -------------------------------------------------------------------------------------------

    @Override
    public void swiGluForward(Tensor gate, Tensor up, Tensor out) {
        CpuTensor g = CpuTensor.of(gate);
        CpuTensor u = CpuTensor.of(up);
        CpuTensor o = CpuTensor.of(out);
        Checks.sameShape(g, u, "gate", "up");
        Checks.sameShape(g, o, "gate", "out");
        Parallel.forRange((int) g.numel(), 8, (from, to) -> {
            for (int i = from; i < to; i++) {
                double x = g.data[g.offset + i];
                o.data[o.offset + i] = o.round(x * CpuAttention.sigmoid(x) * u.data[u.offset + i]);
            }
        });
    }

    @Override
    public void swiGluBackward(Tensor dOut, Tensor gate, Tensor up, Tensor dGate, Tensor dUp) {
        CpuTensor dy = CpuTensor.of(dOut);
        CpuTensor g = CpuTensor.of(gate);
        CpuTensor u = CpuTensor.of(up);
        CpuTensor dg = CpuTensor.of(dGate);
        CpuTensor du = CpuTensor.of(dUp);
        Checks.sameShape(g, u, "gate", "up");
        Checks.sameShape(g, dy, "gate", "dOut");
        Checks.sameShape(g, dg, "gate", "dGate");
        Checks.sameShape(g, du, "gate", "dUp");
        Parallel.forRange((int) g.numel(), 10, (from, to) -> {
            for (int i = from; i < to; i++) {
                double x = g.data[g.offset + i];
                double s = CpuAttention.sigmoid(x);
                double grad = dy.data[dy.offset + i];
                // d silu(x)/dx = σ(x)·(1 + x·(1 − σ(x)))
                dg.data[dg.offset + i] = dg.round(grad * u.data[u.offset + i] * s * (1 + x * (1 - s)));
                du.data[du.offset + i] = du.round(grad * x * s);
            }
        });
    }

    // ---- attention in blocks ------------------------------------------------------------------------------

    @Override
    public void attentionForward(Tensor q, Tensor k, Tensor v, AttentionMask mask, double scale, Tensor out,
                                 Tensor lse) {
        CpuAttention.forward(CpuTensor.of(q), CpuTensor.of(k), CpuTensor.of(v), mask, scale, CpuTensor.of(out),
                CpuTensor.of(lse));
    }

    @Override
    public void attentionBackward(Tensor dOut, Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v,
                                  AttentionMask mask, double scale, Tensor dq, Tensor dk, Tensor dv) {
        CpuAttention.backward(CpuTensor.of(dOut), CpuTensor.of(out), CpuTensor.of(lse), CpuTensor.of(q),
                CpuTensor.of(k), CpuTensor.of(v), mask, scale, CpuTensor.of(dq), CpuTensor.of(dk), CpuTensor.of(dv));
    }

    @Override
    public void attentionMerge(Tensor out, Tensor lse, Tensor outB, Tensor lseB) {
        CpuAttention.merge(CpuTensor.of(out), CpuTensor.of(lse), CpuTensor.of(outB), CpuTensor.of(lseB));
    }

    // ---- loss ---------------------------------------------------------------------------------------------

    @Override
    public double crossEntropyForwardBackward(Tensor logits, Tensor targets, int ignoreIndex, double gradScale) {
        CpuTensor z = CpuTensor.of(logits);
        CpuTensor y = CpuTensor.of(targets);
        Checks.rank(z, 2, "logits");
        Checks.ints(y, "targets");
        int n = z.dim(0);
        int vocab = z.dim(1);
        Checks.require(y.numel() == n, "%s targets for %s", y, z);
        return Parallel.sum(n, 3L * vocab, (from, to) -> {
            double loss = 0;
            for (int i = from; i < to; i++) {
                int row = z.offset + i * vocab;
                int target = y.ints[y.offset + i];
                if (target == ignoreIndex) {
                    Arrays.fill(z.data, row, row + vocab, 0.0);
                    continue;
                }
                Checks.index(target, vocab, "target");
                double max = Double.NEGATIVE_INFINITY;
                for (int c = 0; c < vocab; c++) {
                    max = Math.max(max, z.data[row + c]);
                }
                double sum = 0;
                for (int c = 0; c < vocab; c++) {
                    sum += Math.exp(z.data[row + c] - max);
                }
                double logSumExp = max + Math.log(sum);
                loss += logSumExp - z.data[row + target];
                for (int c = 0; c < vocab; c++) {
                    double p = Math.exp(z.data[row + c] - logSumExp);
                    z.data[row + c] = z.round((c == target ? p - 1 : p) * gradScale);
                }
            }
            return loss;
        });
    }

    // ---- optimizer ----------------------------------------------------------------------------------------

    @Override
    public void adamW(Tensor param, Tensor master, Tensor grad, Tensor m, Tensor v, double lr, double beta1,
                      double beta2, double eps, double weightDecay, long step, double gradScale) {
        CpuTensor p = CpuTensor.of(param);
        CpuTensor w = master == null ? p : CpuTensor.of(master);
        CpuTensor g = CpuTensor.of(grad);
        CpuTensor mt = CpuTensor.of(m);
        CpuTensor vt = CpuTensor.of(v);
        Checks.sameSize(p, w, "param", "master");
        Checks.sameSize(p, g, "param", "grad");
        Checks.sameSize(p, mt, "param", "m");
        Checks.sameSize(p, vt, "param", "v");
        AdamWArithmetic rule = new AdamWArithmetic(lr, beta1, beta2, eps, weightDecay, step, gradScale);
        Parallel.forRange((int) p.numel(), 12, (from, to) -> {
            for (int i = from; i < to; i++) {
                double gi = rule.scaledGrad(g.data[g.offset + i]);
                double mi = mt.round(rule.firstMoment(mt.data[mt.offset + i], gi));
                double vi = vt.round(rule.secondMoment(vt.data[vt.offset + i], gi));
                mt.data[mt.offset + i] = mi;
                vt.data[vt.offset + i] = vi;
                double x = rule.weight(w.data[w.offset + i], mi, vi);
                w.data[w.offset + i] = w.round(x);
                if (w != p) {
                    p.data[p.offset + i] = p.round(x);
                }
            }
        });
    }
}
