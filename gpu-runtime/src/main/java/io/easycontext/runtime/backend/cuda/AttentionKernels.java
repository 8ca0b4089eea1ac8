package io.easycontext.runtime.backend.cuda;

import java.util.Locale;

/**
 * Which attention kernels a {@link CudaBackend} launches. {@code AUTO} takes the Hopper kernels
 * ({@code kernels/attention_hopper.cu}: warpgroup MMAs, sm_90a) where the device runs them and the head size has
 * one, and the portable ones ({@code kernels/attention.cu}) elsewhere; {@code PORTABLE} always the portable ones,
 * to compare the two or to rule one out. The system property {@code easycontext.attention.kernels} sets the
 * default.
 */
public enum AttentionKernels {
    AUTO,
    PORTABLE;

    static final String PROPERTY = "easycontext.attention.kernels";

    static AttentionKernels fromSystemProperty() {
        String v = System.getProperty(PROPERTY, "auto").trim().toUpperCase(Locale.ROOT);
        try {
            return valueOf(v);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(PROPERTY + " must be auto or portable, not '" + v.toLowerCase(Locale.ROOT)
                    + "'");
        }
    }
}
