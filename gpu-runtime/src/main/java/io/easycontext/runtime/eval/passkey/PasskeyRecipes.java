package io.easycontext.runtime.eval.passkey;

import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.tokenizer.ByteTokenizer;

/** The recipe's two sizes: one the test suite runs on two CPU cores, one for a single GPU. */
public final class PasskeyRecipes {

    public static final String CPU = "cpu";
    public static final String GPU = "gpu";

    private PasskeyRecipes() {
    }

    public static PasskeyRecipe named(String scale, long seed) {
        return switch (scale) {
            case CPU -> cpu(seed);
            case GPU -> gpu(seed);
            default -> throw new IllegalArgumentException("--scale must be " + CPU + " or " + GPU + ", not '" + scale
                    + "'");
        };
    }

    /**
     * One to two minutes on two cores: 2 layers of width 64 with 8 heads (the copy needs an induction head, which two
     * layers can form; more heads give it more chances to), 4-digit keys, 64 then 128 tokens, tested up to 512.
     * Weights start at 5 times Hugging Face's 0.02: at this width, 0.02 leaves the attention scores so flat that the
     * induction head forms only after some 400 steps of 32 sequences; from 0.1 it formed by step 200 in our runs
     * (98% of keys found), and the first stage's 300 steps leave room for a later start.
     */
    public static PasskeyRecipe cpu(long seed) {
        LlamaConfig model = LlamaConfig.of(64, 32, 2, 8, 8, ByteTokenizer.VOCAB_SIZE).withInitializerRange(0.1);
        PasskeyStage first = new PasskeyStage(64, 10_000, 300, 32, 3e-3, 20);
        PasskeyStage second = new PasskeyStage(128, 100_000, 100, 16, 1e-3, 10);
        return new PasskeyRecipe(model, 4, first, second, 8, 0.25, 6, seed);
    }

    /**
     * For one GPU, within minutes: 4 layers of width 256 (initial weights scaled as the CPU recipe's, by 1/√width),
     * 6-digit keys, 256 then 1024 tokens (theta 10⁴ then 10⁶), tested up to 2048 tokens, eight times the first stage.
     */
    public static PasskeyRecipe gpu(long seed) {
        LlamaConfig model = LlamaConfig.of(256, 512, 4, 8, 8, ByteTokenizer.VOCAB_SIZE).withInitializerRange(0.05);
        // Tuned on an H200 (benchmarks.md): at 1e-3 the first stage's loss spiked and only 69% were found.
        PasskeyStage first = new PasskeyStage(256, 10_000, 3000, 32, 3e-4, 30);
        PasskeyStage second = new PasskeyStage(1024, 1_000_000, 600, 8, 2e-4, 20);
        return new PasskeyRecipe(model, 6, first, second, 8, 0.1, 5, seed);
    }
}
