package io.easycontext.runtime.backend.cpu;

/** RMSNorm, forward and backward, as Hugging Face's {@code LlamaRMSNorm}: statistics in float64, then the weight. */
final class CpuNorms {

    private CpuNorms() {
    }

    static void rmsNormForward(CpuTensor x, CpuTensor weight, double eps, CpuTensor out, CpuTensor rstd) {
        Checks.rank(x, 2, "x");
        int n = x.dim(0);
        int hidden = x.dim(1);
        Checks.shape(weight, "weight", hidden);
        Checks.sameShape(x, out, "x", "out");
        Checks.shape(rstd, "rstd", n);
        Parallel.forRange(n, 3L * hidden, (from, to) -> {
            for (int i = from; i < to; i++) {
                int row = x.offset + i * hidden;
                double sumSq = 0;
                for (int c = 0; c < hidden; c++) {
                    double v = x.data[row + c];
                    sumSq += v * v;
                }
                double r = rstd.round(1 / Math.sqrt(sumSq / hidden + eps));
                rstd.data[rstd.offset + i] = r;
                int o = out.offset + i * hidden;
                for (int c = 0; c < hidden; c++) {
                    out.data[o + c] = out.round(x.data[row + c] * r * weight.data[weight.offset + c]);
                }
            }
        });
    }

    /**
     * With {@code x̂ = x·r} and {@code g = dOut ⊙ w}: {@code dx = r·(g − x̂·mean(g ⊙ x̂))}, {@code dw += Σ_rows dOut ⊙ x̂}.
     * Rows own {@code dx}; column ranges own {@code dw}, which every row contributes to.
     */
    static void rmsNormBackward(CpuTensor dOut, CpuTensor x, CpuTensor weight, CpuTensor rstd, CpuTensor dx,
                                CpuTensor dWeight) {
        Checks.rank(x, 2, "x");
        int n = x.dim(0);
        int hidden = x.dim(1);
        Checks.sameShape(x, dOut, "x", "dOut");
        Checks.sameShape(x, dx, "x", "dx");
        Checks.shape(weight, "weight", hidden);
        Checks.shape(dWeight, "dWeight", hidden);
        Checks.shape(rstd, "rstd", n);
        Parallel.forRange(n, 4L * hidden, (from, to) -> {
            for (int i = from; i < to; i++) {
                int row = i * hidden;
                double r = rstd.data[rstd.offset + i];
                double mean = 0;
                for (int c = 0; c < hidden; c++) {
                    mean += dOut.data[dOut.offset + row + c] * weight.data[weight.offset + c]
                            * x.data[x.offset + row + c] * r;
                }
                mean /= hidden;
                for (int c = 0; c < hidden; c++) {
                    double g = dOut.data[dOut.offset + row + c] * weight.data[weight.offset + c];
                    double xHat = x.data[x.offset + row + c] * r;
                    dx.data[dx.offset + row + c] = dx.round(r * (g - xHat * mean));
                }
            }
        });
        Parallel.forRange(hidden, 2L * n, (from, to) -> {
            double[] acc = new double[to - from];
            for (int i = 0; i < n; i++) {
                double r = rstd.data[rstd.offset + i];
                int row = i * hidden;
                for (int c = from; c < to; c++) {
                    acc[c - from] += dOut.data[dOut.offset + row + c] * x.data[x.offset + row + c] * r;
                }
            }
            for (int c = from; c < to; c++) {
                dWeight.data[dWeight.offset + c] = dWeight.round(dWeight.data[dWeight.offset + c] + acc[c - from]);
            }
        });
    }
}
