package io.easycontext.runtime.optim;

/**
 * Learning rate per optimizer step: a linear warm-up from 0 to {@code peak} over {@code warmupSteps}, then constant,
 * or a cosine or linear decay that reaches {@code peak · minRatio} at {@code totalSteps} and stays there.
 * Steps count from 1, like {@link AdamW}'s: step 1 of a 10-step warm-up runs at {@code peak/10}, never at 0.
 */
public record LrSchedule(Decay decay, double peak, long warmupSteps, long totalSteps, double minRatio) {

    public enum Decay { CONSTANT, COSINE, LINEAR }

    public LrSchedule {
        if (!(peak >= 0) || warmupSteps < 0 || !(minRatio >= 0 && minRatio <= 1)) {
            throw new IllegalArgumentException("learning rate " + peak + ", warm-up " + warmupSteps + " and min ratio "
                    + minRatio + " must be non-negative (the ratio at most 1)");
        }
        if (decay != Decay.CONSTANT && totalSteps <= warmupSteps) {
            throw new IllegalArgumentException("a decaying schedule needs more total steps (" + totalSteps
                    + ") than warm-up steps (" + warmupSteps + ")");
        }
    }

    public static LrSchedule constant(double lr) {
        return new LrSchedule(Decay.CONSTANT, lr, 0, 0, 1);
    }

    public static LrSchedule warmupConstant(double peak, long warmupSteps) {
        return new LrSchedule(Decay.CONSTANT, peak, warmupSteps, 0, 1);
    }

    public static LrSchedule warmupCosine(double peak, long warmupSteps, long totalSteps, double minRatio) {
        return new LrSchedule(Decay.COSINE, peak, warmupSteps, totalSteps, minRatio);
    }

    public static LrSchedule warmupLinear(double peak, long warmupSteps, long totalSteps, double minRatio) {
        return new LrSchedule(Decay.LINEAR, peak, warmupSteps, totalSteps, minRatio);
    }

    public double at(long step) {
        if (step < 1) {
            throw new IllegalArgumentException("optimizer steps count from 1, got " + step);
        }
        if (step <= warmupSteps) {
            return peak * step / warmupSteps;
        }
        if (decay == Decay.CONSTANT) {
            return peak;
        }
        double progress = Math.min(1, (double) (step - warmupSteps) / (totalSteps - warmupSteps));
        double floor = peak * minRatio;
        double remaining = decay == Decay.COSINE ? 0.5 * (1 + Math.cos(Math.PI * progress)) : 1 - progress;
        return floor + (peak - floor) * remaining;
    }
}
