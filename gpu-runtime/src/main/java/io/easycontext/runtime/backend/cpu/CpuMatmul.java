package io.easycontext.runtime.backend.cpu;

import java.util.Arrays;

/**
 * {@code C = alpha·op(A)·op(B) + beta·C}. The kernel streams rows of {@code B} through four rows of {@code C}
 * at a time ({@code c[i,:] += a[i,k]·b[k,:]}), an inner loop the JIT vectorises, with each {@code B} element
 * loaded once per four rows. A transposed {@code B} is packed into {@code [K, N]} first so that inner loop
 * stays contiguous; that costs {@code K·N} against {@code M·K·N} of arithmetic.
 */
final class CpuMatmul {

    /** Rows of C computed together, sharing each load of B. */
    private static final int ROWS = 4;
    /** Columns of C per pass: four accumulator rows of this many doubles stay in L1. */
    private static final int COLUMNS = 256;

    private CpuMatmul() {
    }

    static void matmul(CpuTensor a, boolean transA, CpuTensor b, boolean transB, CpuTensor c, double alpha,
                       double beta) {
        Checks.rank(a, 2, "a");
        Checks.rank(b, 2, "b");
        Checks.rank(c, 2, "c");
        int m = transA ? a.dim(1) : a.dim(0);
        int k = transA ? a.dim(0) : a.dim(1);
        int n = transB ? b.dim(0) : b.dim(1);
        Checks.require((transB ? b.dim(1) : b.dim(0)) == k && c.dim(0) == m && c.dim(1) == n,
                "matmul shapes do not agree: op(a) of %s%s, op(b) of %s%s, c %s",
                a, transA ? "ᵀ" : "", b, transB ? "ᵀ" : "", c);
        double[] bData;
        int bOffset;
        if (transB) {
            bData = transpose(b);
            bOffset = 0;
        } else {
            bData = b.data;
            bOffset = b.offset;
        }
        // op(A)[i, kk] lives at aRow·i + aCol·kk.
        int aRow = transA ? 1 : k;
        int aCol = transA ? m : 1;
        int tiles = (m + ROWS - 1) / ROWS;
        Parallel.forRange(tiles, (long) ROWS * k * n, (from, to) -> {
            double[] c0 = new double[COLUMNS];
            double[] c1 = new double[COLUMNS];
            double[] c2 = new double[COLUMNS];
            double[] c3 = new double[COLUMNS];
            double[][] acc = {c0, c1, c2, c3};
            for (int tile = from; tile < to; tile++) {
                int i0 = tile * ROWS;
                int rows = Math.min(ROWS, m - i0);
                for (int j0 = 0; j0 < n; j0 += COLUMNS) {
                    int width = Math.min(COLUMNS, n - j0);
                    for (double[] row : acc) {
                        Arrays.fill(row, 0, width, 0.0);
                    }
                    for (int kk = 0; kk < k; kk++) {
                        int ai = a.offset + aRow * i0 + aCol * kk;
                        // Missing rows of a short last tile multiply by zero rather than branch in the inner loop.
                        double a0 = a.data[ai];
                        double a1 = rows > 1 ? a.data[ai + aRow] : 0;
                        double a2 = rows > 2 ? a.data[ai + 2 * aRow] : 0;
                        double a3 = rows > 3 ? a.data[ai + 3 * aRow] : 0;
                        int bi = bOffset + kk * n + j0;
                        for (int j = 0; j < width; j++) {
                            double bv = bData[bi + j];
                            c0[j] += a0 * bv;
                            c1[j] += a1 * bv;
                            c2[j] += a2 * bv;
                            c3[j] += a3 * bv;
                        }
                    }
                    for (int r = 0; r < rows; r++) {
                        int ci = c.offset + (i0 + r) * n + j0;
                        double[] row = acc[r];
                        for (int j = 0; j < width; j++) {
                            // beta = 0 ignores C entirely, as BLAS does, so uninitialised memory cannot leak in.
                            double prior = beta == 0 ? 0 : beta * c.data[ci + j];
                            c.data[ci + j] = c.round(alpha * row[j] + prior);
                        }
                    }
                }
            }
        });
    }

    /** {@code b [N, K]} → a fresh {@code [K, N]} array. */
    private static double[] transpose(CpuTensor b) {
        int n = b.dim(0);
        int k = b.dim(1);
        double[] t = new double[k * n];
        Parallel.forRange(k, n, (from, to) -> {
            for (int kk = from; kk < to; kk++) {
                for (int j = 0; j < n; j++) {
                    t[kk * n + j] = b.data[b.offset + j * k + kk];
                }
            }
        });
        return t;
    }
}
