package io.easycontext.runtime.comm;

import java.util.Arrays;

/**
 * Index arithmetic of an all-to-all "with equal splits along a layout": a row-major shape seen as
 * {@code [outer, shape[dim], inner]}, whose part {@code p} of {@code parts} along {@code dim} is a run of
 * {@code shape[dim]/parts · inner} contiguous elements in each of the {@code outer} rows.
 */
final class SplitLayout {
    private final int outer;
    private final int partRun;
    private final int rowLength;
    private final int parts;

    SplitLayout(int[] shape, int dim, int parts, String role) {
        if (dim < 0 || dim >= shape.length) {
            throw new IllegalArgumentException(role + " dimension " + dim + " is outside shape " + Arrays.toString(shape));
        }
        if (shape[dim] % parts != 0) {
            throw new IllegalArgumentException(role + " dimension " + dim + " of " + Arrays.toString(shape)
                    + " (" + shape[dim] + ") is not divisible by the group size " + parts);
        }
        int o = 1;
        for (int i = 0; i < dim; i++) {
            o *= shape[i];
        }
        int in = 1;
        for (int i = dim + 1; i < shape.length; i++) {
            in *= shape[i];
        }
        this.outer = o;
        this.rowLength = shape[dim] * in;
        this.partRun = shape[dim] / parts * in;
        this.parts = parts;
    }

    /** Elements in one part. */
    int partSize() {
        return outer * partRun;
    }

    /** Part {@code p} of {@code src}, packed row-major. */
    double[] extract(double[] src, int p) {
        double[] packed = new double[partSize()];
        for (int o = 0; o < outer; o++) {
            System.arraycopy(src, o * rowLength + p * partRun, packed, o * partRun, partRun);
        }
        return packed;
    }

    /** Writes a packed part into slot {@code p} of {@code dst}. */
    void insert(double[] packed, double[] dst, int p) {
        for (int o = 0; o < outer; o++) {
            System.arraycopy(packed, o * partRun, dst, o * rowLength + p * partRun, partRun);
        }
    }

    /** The shape of one part: {@code shape} with {@code dim} divided by the number of parts. */
    static int[] partShape(int[] shape, int dim, int parts) {
        int[] s = shape.clone();
        s[dim] /= parts;
        return s;
    }

    int parts() {
        return parts;
    }
}
