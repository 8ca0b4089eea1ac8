package io.easycontext.runtime.backend.cpu;

import io.easycontext.runtime.backend.AttentionMask;

import java.util.Arrays;

/**
 * Block attention on the CPU: the forward, backward and merge that {@link CpuBackend} exposes. One block is
 * one query range against one key range; single-device attention is one {@link AttentionMask#CAUSAL_DIAGONAL}
 * block, and the sequence-parallel modes combine many blocks with {@link #merge}.
 *
 * <p>The backward recomputes the probabilities from the <em>final</em> log-sum-exp, so a block's
 * contribution to the gradients is exact even though its forward only saw part of the keys.
 */
final class CpuAttention {

    /** Shapes of one block: {@code q [b, tq, hq, d]}, {@code k, v [b, tk, hkv, d]}, {@code lse [b, hq, tq]}. */
    private record Dims(int b, int tq, int tk, int hq, int hkv, int d) {
        static Dims of(CpuTensor q, CpuTensor k, CpuTensor v, AttentionMask mask) {
            Checks.rank(q, 4, "q");
            Checks.rank(k, 4, "k");
            Checks.sameShape(k, v, "k", "v");
            Dims dims = new Dims(q.dim(0), q.dim(1), k.dim(1), q.dim(2), k.dim(2), q.dim(3));
            Checks.require(k.dim(0) == dims.b && k.dim(3) == dims.d,
                    "q %s and k %s differ in batch or head size", q, k);
            Checks.require(dims.hkv > 0 && dims.hq % dims.hkv == 0,
                    "%d query heads are not a multiple of %d kv heads", dims.hq, dims.hkv);
            Checks.require(mask != AttentionMask.CAUSAL_DIAGONAL || dims.tq == dims.tk,
                    "a causal diagonal block needs as many queries as keys, not %d and %d", dims.tq, dims.tk);
            return dims;
        }

        int group() {
            return hq / hkv;
        }

        /** Element index of query row {@code i}, head {@code h} in a {@code [b, tq, hq, d]} tensor. */
        int qRow(int bi, int i, int h) {
            return ((bi * tq + i) * hq + h) * d;
        }

        int kRow(int bi, int j, int g) {
            return ((bi * tk + j) * hkv + g) * d;
        }

        int lseIndex(int bi, int h, int i) {
            return (bi * hq + h) * tq + i;
        }

        /** Keys visible to query {@code i}: all of them, or {@code 0..i} on a causal diagonal. */
        int keyEnd(AttentionMask mask, int i) {
            return mask == AttentionMask.CAUSAL_DIAGONAL ? i + 1 : tk;
        }

        /** The first query that sees key {@code j}. */
        int queryStart(AttentionMask mask, int j) {
            return mask == AttentionMask.CAUSAL_DIAGONAL ? j : 0;
        }
    }

    private CpuAttention() {
    }

    static void forward(CpuTensor q, CpuTensor k, CpuTensor v, AttentionMask mask, double scale,
                        CpuTensor out, CpuTensor lse) {
        Dims n = Dims.of(q, k, v, mask);
        Checks.sameShape(q, out, "q", "out");
        Checks.shape(lse, "lse", n.b, n.hq, n.tq);
        double[] kT = transposeHeads(k, n.b, n.tk, n.hkv, n.d);
        // One item is one (batch, head, query) row, ordered so that a chunk stays within one head.
        Parallel.forRange(n.b * n.hq * n.tq, 2L * n.tk * n.d, (from, to) -> {
            double[] p = new double[n.tk];
            double[] acc = new double[n.d];
            for (int r = from; r < to; r++) {
                int i = r % n.tq;
                int h = (r / n.tq) % n.hq;
                int bi = r / (n.tq * n.hq);
                int g = h / n.group();
                int keyEnd = n.keyEnd(mask, i);
                scores(q.data, q.offset + n.qRow(bi, i, h), scale, kT, (bi * n.hkv + g) * n.d * n.tk, n.tk,
                        n.d, p, 0, keyEnd);
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < keyEnd; j++) {
                    max = Math.max(max, p[j]);
                }
                Arrays.fill(acc, 0);
                double sum = 0;
                for (int j = 0; j < keyEnd; j++) {
                    double e = Math.exp(p[j] - max);
                    sum += e;
                    axpy(e, v.data, v.offset + n.kRow(bi, j, g), acc, 0, n.d);
                }
                int oi = out.offset + n.qRow(bi, i, h);
                for (int c = 0; c < n.d; c++) {
                    out.data[oi + c] = out.round(acc[c] / sum);
                }
                lse.data[lse.offset + n.lseIndex(bi, h, i)] = lse.round(max + Math.log(sum));
            }
        });
    }

    /**
     * With {@code P = exp(S − lse)} and {@code D_i = dO_i · O_i}: {@code dV = Pᵀ dO}, {@code dS = P ⊙ (dO Vᵀ − D)},
     * {@code dQ = dS K · scale}, {@code dK = dSᵀ Q · scale}. Two passes, one owning query rows (dq) and one owning
     * key rows (dk, dv, summed over the query heads of a group), so that no two tasks write the same element and
     * no partial sums need memory; each pass recomputes {@code P} and {@code dP} for itself.
     */
    static void backward(CpuTensor dOut, CpuTensor out, CpuTensor lse, CpuTensor q, CpuTensor k, CpuTensor v,
                         AttentionMask mask, double scale, CpuTensor dq, CpuTensor dk, CpuTensor dv) {
        Dims n = Dims.of(q, k, v, mask);
        Checks.sameShape(q, out, "q", "out");
        Checks.sameShape(q, dOut, "q", "dOut");
        Checks.sameShape(q, dq, "q", "dq");
        Checks.sameShape(k, dk, "k", "dk");
        Checks.sameShape(k, dv, "k", "dv");
        Checks.shape(lse, "lse", n.b, n.hq, n.tq);
        double[] rowDot = new double[n.b * n.hq * n.tq];
        Parallel.forRange(rowDot.length, n.d, (from, to) -> {
            for (int r = from; r < to; r++) {
                int i = r % n.tq;
                int h = (r / n.tq) % n.hq;
                int bi = r / (n.tq * n.hq);
                int o = n.qRow(bi, i, h);
                rowDot[r] = dot(dOut.data, dOut.offset + o, out.data, out.offset + o, n.d);
            }
        });

        double[] kT = transposeHeads(k, n.b, n.tk, n.hkv, n.d);
        double[] vT = transposeHeads(v, n.b, n.tk, n.hkv, n.d);
        Parallel.forRange(n.b * n.hq * n.tq, 3L * n.tk * n.d, (from, to) -> {
            double[] p = new double[n.tk];
            double[] dp = new double[n.tk];
            double[] acc = new double[n.d];
            for (int r = from; r < to; r++) {
                int i = r % n.tq;
                int h = (r / n.tq) % n.hq;
                int bi = r / (n.tq * n.hq);
                int g = h / n.group();
                int end = n.keyEnd(mask, i);
                int kvHead = (bi * n.hkv + g) * n.d * n.tk;
                scores(q.data, q.offset + n.qRow(bi, i, h), scale, kT, kvHead, n.tk, n.d, p, 0, end);
                scores(dOut.data, dOut.offset + n.qRow(bi, i, h), 1, vT, kvHead, n.tk, n.d, dp, 0, end);
                double lseI = lse.data[lse.offset + r];
                Arrays.fill(acc, 0);
                for (int j = 0; j < end; j++) {
                    double pj = Math.exp(p[j] - lseI);
                    axpy(pj * (dp[j] - rowDot[r]), k.data, k.offset + n.kRow(bi, j, g), acc, 0, n.d);
                }
                int dqi = dq.offset + n.qRow(bi, i, h);
                for (int c = 0; c < n.d; c++) {
                    dq.data[dqi + c] = dq.round(scale * acc[c]);
                }
            }
        });

        double[] qT = transposeHeads(q, n.b, n.tq, n.hq, n.d);
        double[] dOutT = transposeHeads(dOut, n.b, n.tq, n.hq, n.d);
        Parallel.forRange(n.b * n.hkv * n.tk, 4L * n.group() * n.tq * n.d, (from, to) -> {
            double[] p = new double[n.tq];
            double[] dp = new double[n.tq];
            double[] dkAcc = new double[n.d];
            double[] dvAcc = new double[n.d];
            for (int r = from; r < to; r++) {
                int j = r % n.tk;
                int g = (r / n.tk) % n.hkv;
                int bi = r / (n.tk * n.hkv);
                int kj = n.kRow(bi, j, g);
                int start = n.queryStart(mask, j);
                Arrays.fill(dkAcc, 0);
                Arrays.fill(dvAcc, 0);
                for (int h = g * n.group(); h < (g + 1) * n.group(); h++) {
                    int qHead = (bi * n.hq + h) * n.d * n.tq;
                    scores(k.data, k.offset + kj, scale, qT, qHead, n.tq, n.d, p, start, n.tq);
                    scores(v.data, v.offset + kj, 1, dOutT, qHead, n.tq, n.d, dp, start, n.tq);
                    int row = n.lseIndex(bi, h, 0);
                    for (int i = start; i < n.tq; i++) {
                        double pi = Math.exp(p[i] - lse.data[lse.offset + row + i]);
                        int qi = n.qRow(bi, i, h);
                        axpy(pi, dOut.data, dOut.offset + qi, dvAcc, 0, n.d);
                        axpy(pi * (dp[i] - rowDot[row + i]), q.data, q.offset + qi, dkAcc, 0, n.d);
                    }
                }
                for (int c = 0; c < n.d; c++) {
                    dk.data[dk.offset + kj + c] = dk.round(scale * dkAcc[c]);
                    dv.data[dv.offset + kj + c] = dv.round(dvAcc[c]);
                }
            }
        });
    }

    /**
     * {@code s[j] = scale · x · y_j} for {@code j ∈ [from, to)}, where {@code x} is a row of {@code d} values and
     * the {@code y_j} are the columns of one head's transposed {@code [d, t]} block starting at {@code head}:
     * {@code d} axpys over {@code j}, which vectorise, where dot products of length {@code d} would not.
     */
    private static void scores(double[] x, int xi, double scale, double[] yT, int head, int t, int d, double[] s,
                               int from, int to) {
        Arrays.fill(s, from, to, 0);
        for (int c = 0; c < d; c++) {
            double xc = scale * x[xi + c];
            int row = head + c * t;
            for (int j = from; j < to; j++) {
                s[j] += xc * yT[row + j];
            }
        }
    }

    /** {@code [b, t, heads, d]} → {@code [b, heads, d, t]}: each head's tokens contiguous per feature. */
    private static double[] transposeHeads(CpuTensor x, int b, int t, int heads, int d) {
        double[] out = new double[b * heads * d * t];
        Parallel.forRange(b * heads, (long) t * d, (from, to) -> {
            for (int bh = from; bh < to; bh++) {
                int bi = bh / heads;
                int h = bh % heads;
                for (int i = 0; i < t; i++) {
                    int src = x.offset + ((bi * t + i) * heads + h) * d;
                    for (int c = 0; c < d; c++) {
                        out[(bh * d + c) * t + i] = x.data[src + c];
                    }
                }
            }
        });
        return out;
    }

    /**
     * {@code out ← out − σ(lseB − lse)·(out − outB)}, {@code lse ← lse − log σ(lse − lseB)}: the softmax-weighted
     * average of two partial results, written with sigmoids so that no exponential can overflow.
     */
    static void merge(CpuTensor out, CpuTensor lse, CpuTensor outB, CpuTensor lseB) {
        Checks.rank(out, 4, "out");
        Checks.sameShape(out, outB, "out", "outB");
        Checks.sameShape(lse, lseB, "lse", "lseB");
        int b = out.dim(0);
        int t = out.dim(1);
        int h = out.dim(2);
        int d = out.dim(3);
        Checks.shape(lse, "lse", b, h, t);
        Parallel.forRange(b * h * t, 4L * d, (from, to) -> {
            for (int r = from; r < to; r++) {
                int i = r % t;
                int hi = (r / t) % h;
                int bi = r / (t * h);
                int li = lse.offset + r;
                double running = lse.data[li];
                double block = lseB.data[lseB.offset + r];
                int o = ((bi * t + i) * h + hi) * d;
                if (running == Double.NEGATIVE_INFINITY) {
                    // Nothing merged yet: the formula would give −∞ − (−∞); the answer is the block itself.
                    for (int c = 0; c < d; c++) {
                        out.data[out.offset + o + c] = out.round(outB.data[outB.offset + o + c]);
                    }
                    lse.data[li] = lse.round(block);
                    continue;
                }
                double weightB = sigmoid(block - running);
                for (int c = 0; c < d; c++) {
                    double x = out.data[out.offset + o + c];
                    out.data[out.offset + o + c] = out.round(x - weightB * (x - outB.data[outB.offset + o + c]));
                }
                lse.data[li] = lse.round(running - logSigmoid(running - block));
            }
        });
    }

    static double sigmoid(double x) {
        if (x >= 0) {
            return 1 / (1 + Math.exp(-x));
        }
        double e = Math.exp(x);
        return e / (1 + e);
    }

    /** {@code log σ(x) = −softplus(−x)}, exact for large |x| where {@code log(sigmoid(x))} would round to 0 or −∞. */
    static double logSigmoid(double x) {
        return Math.min(x, 0) - Math.log1p(Math.exp(-Math.abs(x)));
    }

    static double dot(double[] a, int ai, double[] b, int bi, int n) {
        double s = 0;
        for (int c = 0; c < n; c++) {
            s += a[ai + c] * b[bi + c];
        }
        return s;
    }

    static void axpy(double alpha, double[] x, int xi, double[] y, int yi, int n) {
        for (int c = 0; c < n; c++) {
            y[yi + c] += alpha * x[xi + c];
        }
    }
}
