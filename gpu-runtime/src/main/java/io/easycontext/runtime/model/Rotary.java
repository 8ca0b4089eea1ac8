package io.easycontext.runtime.model;

/** The rotary embedding's frequencies; the rotation itself is {@link io.easycontext.runtime.backend.Backend#rope}. */
public final class Rotary {

    private Rotary() {
    }

    /**
     * {@code invFreq[j] = 1 / theta^(2j/headDim)}, then any rope scaling, rounded to float32 as Hugging Face
     * keeps them. Pair {@code j} rotates by {@code position · invFreq[j]}.
     */
    public static float[] inverseFrequencies(LlamaConfig config) {
        int half = config.headDim() / 2;
        float[] inv = new float[half];
        for (int j = 0; j < half; j++) {
            double f = 1 / Math.pow(config.ropeTheta(), 2.0 * j / config.headDim());
            inv[j] = (float) (config.ropeScaling() == null ? f : config.ropeScaling().apply(f));
        }
        return inv;
    }
}
