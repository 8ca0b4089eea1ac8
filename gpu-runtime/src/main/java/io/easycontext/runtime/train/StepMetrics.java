package io.easycontext.runtime.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalDouble;

/**
 * What one optimizer step reports, the same on every rank.
 *
 * @param step         1-based optimizer step
 * @param loss         mean cross-entropy over every target of the step (all ranks, all micro-batches)
 * @param gradNorm     global L2 norm of the summed gradient, before clipping
 * @param lr           learning rate the step used
 * @param tokens       tokens in the step over the whole world ({@code dp × batch × accumulation × seq_length})
 * @param tokensPerSec tokens over the step's wall time
 * @param peakDeviceBytes the most device memory any rank's pool held during the step; 0 on the CPU backend
 */
public record StepMetrics(int step, double loss, double gradNorm, double lr, long tokens, double tokensPerSec,
                          long peakDeviceBytes) {

    private static final ObjectMapper JSON = new ObjectMapper();

    public StepMetrics(int step, double loss, double gradNorm, double lr, long tokens, double tokensPerSec) {
        this(step, loss, gradNorm, lr, tokens, tokensPerSec, 0);
    }

    /**
     * {@code {"step":…, "loss":…, "grad_norm":…, "lr":…, "tokens":…, "tokens_per_s":…}} on one line, and
     * {@code "peak_device_gib"} on GPUs.
     */
    public String toJson() {
        return toJson(OptionalDouble.empty());
    }

    /** As {@link #toJson()}, with the model FLOPs utilisation where the GPUs' peak is known. */
    public String toJson(OptionalDouble mfu) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("step", step);
        m.put("loss", loss);
        m.put("grad_norm", gradNorm);
        m.put("lr", lr);
        m.put("tokens", tokens);
        m.put("tokens_per_s", tokensPerSec);
        if (peakDeviceBytes > 0) {
            m.put("peak_device_gib", Math.round(peakDeviceBytes / (double) (1L << 30) * 100) / 100.0);
        }
        mfu.ifPresent(u -> m.put("mfu", Math.round(u * 10000) / 10000.0));
        try {
            return JSON.writeValueAsString(m);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
