package io.easycontext.runtime.backend.cpu;

import io.easycontext.runtime.backend.AttentionMask;
import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static io.easycontext.runtime.backend.AttentionMask.CAUSAL_DIAGONAL;
import static io.easycontext.runtime.backend.AttentionMask.FULL;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class CpuAttentionTest {

    private final Backend cpu = Grad.f64();
    private final SplittableRandom rng = new SplittableRandom(7);

    @Test
    void forwardMatchesTheTextbookFormulaWithGroupedHeads() {
        int b = 2, tq = 5, tk = 5, hq = 4, hkv = 2, d = 3;
        for (AttentionMask mask : AttentionMask.values()) {
            Tensor q = Grad.random(cpu, rng, 1, b, tq, hq, d);
            Tensor k = Grad.random(cpu, rng, 1, b, tk, hkv, d);
            Tensor v = Grad.random(cpu, rng, 1, b, tk, hkv, d);
            Tensor out = cpu.allocate(DType.F64, b, tq, hq, d);
            Tensor lse = cpu.allocate(DType.F64, b, hq, tq);
            cpu.attentionForward(q, k, v, mask, 0.7, out, lse);

            double[] qs = cpu.download(q), ks = cpu.download(k), vs = cpu.download(v);
            double[] os = cpu.download(out), ls = cpu.download(lse);
            for (int bi = 0; bi < b; bi++) {
                for (int h = 0; h < hq; h++) {
                    int g = h / (hq / hkv);
                    for (int i = 0; i < tq; i++) {
                        int visible = mask == CAUSAL_DIAGONAL ? i + 1 : tk;
                        double[] w = new double[visible];
                        double z = 0;
                        for (int j = 0; j < visible; j++) {
                            double s = 0;
                            for (int c = 0; c < d; c++) {
                                s += qs[((bi * tq + i) * hq + h) * d + c] * ks[((bi * tk + j) * hkv + g) * d + c];
                            }
                            w[j] = Math.exp(0.7 * s);
                            z += w[j];
                        }
                        assertThat(ls[(bi * hq + h) * tq + i]).isCloseTo(Math.log(z), within(1e-12));
                        for (int c = 0; c < d; c++) {
                            double o = 0;
                            for (int j = 0; j < visible; j++) {
                                o += w[j] / z * vs[((bi * tk + j) * hkv + g) * d + c];
                            }
                            assertThat(os[((bi * tq + i) * hq + h) * d + c]).isCloseTo(o, within(1e-12));
                        }
                    }
                }
            }
        }
    }

    @Test
    void backwardOfACausalBlockWithGroupedHeadsMatchesFiniteDifferences() {
        checkBackward(CAUSAL_DIAGONAL, 2, 5, 5, 4, 2, 3);
    }

    @Test
    void backwardOfAFullBlockWithMoreKeysThanQueriesMatchesFiniteDifferences() {
        checkBackward(FULL, 2, 3, 6, 6, 2, 4);
    }

    @Test
    void backwardOfAFullBlockWithFewerKeysThanQueriesMatchesFiniteDifferences() {
        checkBackward(FULL, 1, 5, 2, 2, 1, 3);
    }

    private void checkBackward(AttentionMask mask, int b, int tq, int tk, int hq, int hkv, int d) {
        double scale = 1 / Math.sqrt(d);
        Tensor q = Grad.random(cpu, rng, 1, b, tq, hq, d);
        Tensor k = Grad.random(cpu, rng, 1, b, tk, hkv, d);
        Tensor v = Grad.random(cpu, rng, 1, b, tk, hkv, d);
        Tensor upstream = Grad.random(cpu, rng, 1, b, tq, hq, d);
        Tensor out = cpu.allocate(DType.F64, b, tq, hq, d);
        Tensor lse = cpu.allocate(DType.F64, b, hq, tq);
        Runnable forward = () -> cpu.attentionForward(q, k, v, mask, scale, out, lse);
        forward.run();
        Tensor dq = cpu.allocate(DType.F64, b, tq, hq, d);
        Tensor dk = cpu.allocate(DType.F64, b, tk, hkv, d);
        Tensor dv = cpu.allocate(DType.F64, b, tk, hkv, d);
        cpu.attentionBackward(upstream, out, lse, q, k, v, mask, scale, dq, dk, dv);

        java.util.function.DoubleSupplier loss = () -> {
            forward.run();
            return Grad.dot(upstream, out);
        };
        Grad.check("dq", q, dq, loss);
        Grad.check("dk", k, dk, loss);
        Grad.check("dv", v, dv, loss);
    }

    @Test
    void keysSplitIntoTwoMergedBlocksEqualOneBlockForwardAndBackward() {
        int tq = 4, hq = 4, hkv = 2, d = 3, split = 3, tk = 7;
        double scale = 0.6;
        Tensor q = Grad.random(cpu, rng, 1.5, 1, tq, hq, d);
        Tensor k = Grad.random(cpu, rng, 1.5, 1, tk, hkv, d);
        Tensor v = Grad.random(cpu, rng, 1, 1, tk, hkv, d);
        Tensor upstream = Grad.random(cpu, rng, 1, 1, tq, hq, d);
        Tensor whole = cpu.allocate(DType.F64, 1, tq, hq, d);
        Tensor wholeLse = cpu.allocate(DType.F64, 1, hq, tq);
        cpu.attentionForward(q, k, v, FULL, scale, whole, wholeLse);

        // With batch 1, a token range of [b, t, h, d] is a contiguous view.
        Tensor[] ks = {tokens(k, 0, split), tokens(k, split, tk)};
        Tensor[] vs = {tokens(v, 0, split), tokens(v, split, tk)};
        Tensor out = cpu.zeros(DType.F64, 1, tq, hq, d);
        Tensor lse = cpu.allocate(DType.F64, 1, hq, tq);
        cpu.fill(lse, Double.NEGATIVE_INFINITY);
        for (int blk = 0; blk < 2; blk++) {
            Tensor outB = cpu.allocate(DType.F64, 1, tq, hq, d);
            Tensor lseB = cpu.allocate(DType.F64, 1, hq, tq);
            cpu.attentionForward(q, ks[blk], vs[blk], FULL, scale, outB, lseB);
            cpu.attentionMerge(out, lse, outB, lseB);
        }
        assertClose(out, whole, 1e-12);
        assertClose(lse, wholeLse, 1e-12);

        Tensor dq = cpu.allocate(DType.F64, 1, tq, hq, d);
        Tensor dk = cpu.allocate(DType.F64, 1, tk, hkv, d);
        Tensor dv = cpu.allocate(DType.F64, 1, tk, hkv, d);
        cpu.attentionBackward(upstream, whole, wholeLse, q, k, v, FULL, scale, dq, dk, dv);

        Tensor dqSum = cpu.zeros(DType.F64, 1, tq, hq, d);
        Tensor dkSplit = cpu.allocate(DType.F64, 1, tk, hkv, d);
        Tensor dvSplit = cpu.allocate(DType.F64, 1, tk, hkv, d);
        Tensor dqBlock = cpu.allocate(DType.F64, 1, tq, hq, d);
        int[][] ranges = {{0, split}, {split, tk}};
        for (int blk = 0; blk < 2; blk++) {
            cpu.attentionBackward(upstream, out, lse, q, ks[blk], vs[blk], FULL, scale, dqBlock,
                    tokens(dkSplit, ranges[blk][0], ranges[blk][1]), tokens(dvSplit, ranges[blk][0], ranges[blk][1]));
            cpu.addScaledAccumulate(dqSum, dqBlock, 1);
        }
        assertClose(dqSum, dq, 1e-12);
        assertClose(dkSplit, dk, 1e-12);
        assertClose(dvSplit, dv, 1e-12);
    }

    /** Ring attention's decomposition: chunk c attends causally to itself and fully to every earlier chunk. */
    @Test
    void causalAndFullBlocksOverChunksEqualOneCausalBlockForwardAndBackward() {
        int t = 9, hq = 2, hkv = 1, d = 4;
        int[] starts = {0, 3, 6, 9};
        double scale = 0.5;
        Tensor q = Grad.random(cpu, rng, 1.5, 1, t, hq, d);
        Tensor k = Grad.random(cpu, rng, 1.5, 1, t, hkv, d);
        Tensor v = Grad.random(cpu, rng, 1, 1, t, hkv, d);
        Tensor upstream = Grad.random(cpu, rng, 1, 1, t, hq, d);
        Tensor whole = cpu.allocate(DType.F64, 1, t, hq, d);
        Tensor wholeLse = cpu.allocate(DType.F64, 1, hq, t);
        cpu.attentionForward(q, k, v, CAUSAL_DIAGONAL, scale, whole, wholeLse);
        Tensor dq = cpu.allocate(DType.F64, 1, t, hq, d);
        Tensor dk = cpu.allocate(DType.F64, 1, t, hkv, d);
        Tensor dv = cpu.allocate(DType.F64, 1, t, hkv, d);
        cpu.attentionBackward(upstream, whole, wholeLse, q, k, v, CAUSAL_DIAGONAL, scale, dq, dk, dv);

        Tensor dqChunks = cpu.zeros(DType.F64, 1, t, hq, d);
        Tensor dkChunks = cpu.zeros(DType.F64, 1, t, hkv, d);
        Tensor dvChunks = cpu.zeros(DType.F64, 1, t, hkv, d);
        for (int c = 0; c < 3; c++) {
            int n = starts[c + 1] - starts[c];
            Tensor qc = tokens(q, starts[c], starts[c + 1]);
            Tensor out = cpu.zeros(DType.F64, 1, n, hq, d);
            Tensor lse = cpu.allocate(DType.F64, 1, hq, n);
            cpu.fill(lse, Double.NEGATIVE_INFINITY);
            for (int kc = c; kc >= 0; kc--) {
                Tensor outB = cpu.allocate(DType.F64, 1, n, hq, d);
                Tensor lseB = cpu.allocate(DType.F64, 1, hq, n);
                cpu.attentionForward(qc, tokens(k, starts[kc], starts[kc + 1]), tokens(v, starts[kc], starts[kc + 1]),
                        kc == c ? CAUSAL_DIAGONAL : FULL, scale, outB, lseB);
                cpu.attentionMerge(out, lse, outB, lseB);
            }
            assertClose(out, tokens(whole, starts[c], starts[c + 1]), 1e-12);
            double[] chunkLse = cpu.download(lse);
            double[] allLse = cpu.download(wholeLse);
            for (int h = 0; h < hq; h++) {
                for (int i = 0; i < n; i++) {
                    assertThat(chunkLse[h * n + i]).isCloseTo(allLse[h * t + starts[c] + i], within(1e-12));
                }
            }

            Tensor upstreamC = tokens(upstream, starts[c], starts[c + 1]);
            for (int kc = c; kc >= 0; kc--) {
                int m = starts[kc + 1] - starts[kc];
                Tensor dqB = cpu.allocate(DType.F64, 1, n, hq, d);
                Tensor dkB = cpu.allocate(DType.F64, 1, m, hkv, d);
                Tensor dvB = cpu.allocate(DType.F64, 1, m, hkv, d);
                cpu.attentionBackward(upstreamC, out, lse, qc, tokens(k, starts[kc], starts[kc + 1]),
                        tokens(v, starts[kc], starts[kc + 1]), kc == c ? CAUSAL_DIAGONAL : FULL, scale, dqB, dkB, dvB);
                cpu.addScaledAccumulate(tokens(dqChunks, starts[c], starts[c + 1]), dqB, 1);
                cpu.addScaledAccumulate(tokens(dkChunks, starts[kc], starts[kc + 1]), dkB, 1);
                cpu.addScaledAccumulate(tokens(dvChunks, starts[kc], starts[kc + 1]), dvB, 1);
            }
        }
        assertClose(dqChunks, dq, 1e-12);
        assertClose(dkChunks, dk, 1e-12);
        assertClose(dvChunks, dv, 1e-12);
    }

    @Test
    void mergeIntoAnEmptyRunningResultTakesTheBlockAndAnEmptyBlockChangesNothing() {
        Tensor out = Grad.random(cpu, rng, 1, 1, 2, 1, 3);
        Tensor lse = cpu.allocate(DType.F64, 1, 1, 2);
        cpu.fill(lse, Double.NEGATIVE_INFINITY);
        Tensor outB = Grad.random(cpu, rng, 1, 1, 2, 1, 3);
        Tensor lseB = Grad.random(cpu, rng, 3, 1, 1, 2);
        cpu.attentionMerge(out, lse, outB, lseB);
        assertClose(out, outB, 0);
        assertClose(lse, lseB, 0);

        Tensor empty = cpu.allocate(DType.F64, 1, 1, 2);
        cpu.fill(empty, Double.NEGATIVE_INFINITY);
        cpu.attentionMerge(out, lse, Grad.random(cpu, rng, 1, 1, 2, 1, 3), empty);
        assertClose(out, outB, 0);
        assertClose(lse, lseB, 0);
    }

    @Test
    void mergeOfBlocksWithFarApartLogSumExpsStaysFinite() {
        Tensor out = cpu.allocate(DType.F64, 1, 1, 1, 1);
        Tensor lse = cpu.allocate(DType.F64, 1, 1, 1);
        Tensor outB = cpu.allocate(DType.F64, 1, 1, 1, 1);
        Tensor lseB = cpu.allocate(DType.F64, 1, 1, 1);
        cpu.fill(out, 2);
        cpu.fill(lse, 1000);
        cpu.fill(outB, -3);
        cpu.fill(lseB, -1000);
        cpu.attentionMerge(out, lse, outB, lseB);
        assertThat(cpu.download(out)[0]).isEqualTo(2);
        assertThat(cpu.download(lse)[0]).isEqualTo(1000);

        cpu.fill(lseB, 1000 + Math.log(3)); // the block carries three times the running weight
        cpu.attentionMerge(out, lse, outB, lseB);
        assertThat(cpu.download(out)[0]).isCloseTo(0.25 * 2 + 0.75 * -3, within(1e-12));
        assertThat(cpu.download(lse)[0]).isCloseTo(1000 + Math.log(4), within(1e-12));
    }

    @Test
    void float32AttentionAgreesWithFloat64() {
        Backend f32 = new CpuBackend(DType.F32);
        int b = 1, t = 33, hq = 4, hkv = 4, d = 8;
        Tensor q = Grad.random(cpu, rng, 1, b, t, hq, d);
        Tensor k = Grad.random(cpu, rng, 1, b, t, hkv, d);
        Tensor v = Grad.random(cpu, rng, 1, b, t, hkv, d);
        Tensor out64 = cpu.allocate(DType.F64, b, t, hq, d);
        Tensor lse64 = cpu.allocate(DType.F64, b, hq, t);
        cpu.attentionForward(q, k, v, CAUSAL_DIAGONAL, 0.3, out64, lse64);
        Tensor out32 = f32.allocate(DType.F32, b, t, hq, d);
        Tensor lse32 = f32.allocate(DType.F32, b, hq, t);
        f32.attentionForward(toF32(f32, q), toF32(f32, k), toF32(f32, v), CAUSAL_DIAGONAL, 0.3, out32, lse32);
        assertClose(out32, out64, 1e-5);
        assertClose(lse32, lse64, 1e-5);
    }

    @Test
    void rejectsACausalBlockThatIsNotSquareAndHeadsThatDoNotGroup() {
        Tensor out = cpu.allocate(DType.F64, 1, 3, 2, 2);
        Tensor lse = cpu.allocate(DType.F64, 1, 2, 3);
        Tensor q = Grad.random(cpu, rng, 1, 1, 3, 2, 2);
        assertThatThrownBy(() -> cpu.attentionForward(q, Grad.random(cpu, rng, 1, 1, 4, 2, 2),
                Grad.random(cpu, rng, 1, 1, 4, 2, 2), CAUSAL_DIAGONAL, 1, out, lse))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("as many queries as keys");
        Tensor q3 = Grad.random(cpu, rng, 1, 1, 3, 3, 2);
        assertThatThrownBy(() -> cpu.attentionForward(q3, Grad.random(cpu, rng, 1, 1, 3, 2, 2),
                Grad.random(cpu, rng, 1, 1, 3, 2, 2), FULL, 1, cpu.allocate(DType.F64, 1, 3, 3, 2),
                cpu.allocate(DType.F64, 1, 3, 3)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a multiple");
    }

    private Tensor tokens(Tensor x, int from, int to) {
        int[] s = x.shape();
        long row = (long) s[2] * s[3];
        return cpu.view(x, from * row, 1, to - from, s[2], s[3]);
    }

    private static Tensor toF32(Backend f32, Tensor x) {
        Tensor t = f32.allocate(DType.F32, x.shape());
        f32.copy(x, t);
        return t;
    }

    static void assertClose(Tensor actual, Tensor expected, double tolerance) {
        CpuTensor a = CpuTensor.of(actual);
        CpuTensor e = CpuTensor.of(expected);
        assertThat(a.numel()).isEqualTo(e.numel());
        for (int i = 0; i < a.numel(); i++) {
            assertThat(a.data[a.offset + i]).as("element %d", i).isCloseTo(e.data[e.offset + i], within(tolerance));
        }
    }
}
