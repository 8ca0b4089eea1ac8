package io.easycontext.runtime.backend.cpu;

/**
 * One AdamW step's arithmetic on one element, in float64, exactly as the CPU reference computes it: the backend's
 * {@code adamW} op and the optimizer's host-memory update both call it, and each rounds the moments and the weight
 * to the types it stores them in before they are used again, so both give the same bits.
 */
public final class AdamWArithmetic {
    private final double lr;
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private final double correction1;
    private final double correction2;
    private final double gradScale;

    /** {@code step} counts from 1; {@code gradScale} multiplies each gradient first (clipping). */
    public AdamWArithmetic(double lr, double beta1, double beta2, double eps, double weightDecay, long step,
                           double gradScale) {
        if (step < 1) {
            throw new IllegalArgumentException("AdamW steps count from 1, got " + step);
        }
        this.lr = lr;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.correction1 = 1 - Math.pow(beta1, step);
        this.correction2 = 1 - Math.pow(beta2, step);
        this.gradScale = gradScale;
    }

    public double scaledGrad(double grad) {
        return grad * gradScale;
    }

    public double firstMoment(double m, double g) {
        return beta1 * m + (1 - beta1) * g;
    }

    public double secondMoment(double v, double g) {
        return beta2 * v + (1 - beta2) * g * g;
    }

    /** The weight {@code x} decayed, then moved by the bias-corrected moments (already rounded as stored). */
    public double weight(double x, double m, double v) {
        x -= lr * weightDecay * x;
        x -= lr * (m / correction1) / (Math.sqrt(v / correction2) + eps);
        return x;
    }
}
