package io.easycontext.runtime.cuda;

import static org.assertj.core.api.Assertions.assertThat;

/** The error measure of the device tool's METHOD.md: ‖got − want‖ / ‖want‖; NaN anywhere makes it NaN. */
public final class RelativeError {
    private RelativeError() {
    }

    public static double of(double[] got, double[] want) {
        assertThat(got).hasSameSizeAs(want);
        double num = 0;
        double den = 0;
        for (int i = 0; i < want.length; i++) {
            if (Double.isNaN(got[i]) || Double.isNaN(want[i])) {
                return Double.NaN;
            }
            num += (got[i] - want[i]) * (got[i] - want[i]);
            den += want[i] * want[i];
        }
        return Math.sqrt(num / Math.max(den, 1e-300));
    }

    public static double of(float[] got, double[] want) {
        double[] g = new double[got.length];
        for (int i = 0; i < got.length; i++) {
            g[i] = got[i];
        }
        return of(g, want);
    }
}
