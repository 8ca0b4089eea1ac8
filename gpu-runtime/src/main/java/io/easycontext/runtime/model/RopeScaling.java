package io.easycontext.runtime.model;

/**
 * Hugging Face's {@code rope_scaling}: {@code linear} divides every frequency by {@code factor}; {@code llama3}
 * (Llama 3.1+) divides only the low frequencies, whose wavelengths exceed the original context, and blends
 * the band in between.
 */
public record RopeScaling(Type type, double factor, double lowFreqFactor, double highFreqFactor,
                          int originalMaxPositions) {

    public enum Type { LINEAR, LLAMA3 }

    public RopeScaling {
        if (!(factor > 0)) {
            throw new IllegalArgumentException("rope_scaling factor must be positive, got " + factor);
        }
        if (type == Type.LLAMA3 && !(highFreqFactor > lowFreqFactor && lowFreqFactor > 0 && originalMaxPositions > 0)) {
            throw new IllegalArgumentException("llama3 rope_scaling needs 0 < low_freq_factor < high_freq_factor and "
                    + "a positive original_max_position_embeddings");
        }
    }

    public static RopeScaling linear(double factor) {
        return new RopeScaling(Type.LINEAR, factor, 0, 0, 0);
    }

    public static RopeScaling llama3(double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositions) {
        return new RopeScaling(Type.LLAMA3, factor, lowFreqFactor, highFreqFactor, originalMaxPositions);
    }

    double apply(double invFreq) {
        if (type == Type.LINEAR) {
            return invFreq / factor;
        }
        double wavelength = 2 * Math.PI / invFreq;
        double lowFreqWavelength = originalMaxPositions / lowFreqFactor;
        double highFreqWavelength = originalMaxPositions / highFreqFactor;
        if (wavelength < highFreqWavelength) {
            return invFreq;
        }
        if (wavelength > lowFreqWavelength) {
            return invFreq / factor;
        }
        double smooth = (originalMaxPositions / wavelength - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
        return (1 - smooth) * invFreq / factor + smooth * invFreq;
    }
}
