package io.easycontext.runtime.train;

import io.easycontext.runtime.model.LlamaModel;

import java.util.SplittableRandom;

/**
 * A deterministic, learnable synthetic corpus: each sequence counts through the vocabulary from a random start with
 * a random stride, {@code x_i = (start + stride · i) mod vocab}, so the next token follows from the previous two
 * and a model's loss falls quickly below {@code ln(vocab)}. A random-length prefix of each sequence carries no loss
 * (its targets are ignored, like a prompt), so ranks hold different numbers of targets and the global target count
 * matters. Sequence {@code i} depends only on the seed and {@code i}.
 */
public final class SyntheticData implements DataSource {
    private static final int MAX_STRIDE = 8;

    private final long seed;
    private final int vocabSize;

    public SyntheticData(long seed, int vocabSize) {
        if (vocabSize < 2) {
            throw new IllegalArgumentException("a vocabulary of " + vocabSize + " tokens is too small");
        }
        this.seed = seed;
        this.vocabSize = vocabSize;
    }

    @Override
    public Sample sample(long index, int seqLength) {
        SplittableRandom random = new SplittableRandom(mix(seed, index));
        int start = random.nextInt(vocabSize);
        int stride = 1 + random.nextInt(Math.min(MAX_STRIDE, vocabSize - 1));
        int prompt = random.nextInt(seqLength / 4 + 1);
        int[] ids = new int[seqLength];
        int[] targets = new int[seqLength];
        for (int i = 0; i < seqLength; i++) {
            ids[i] = (int) ((start + (long) stride * i) % vocabSize);
            targets[i] = i < prompt ? LlamaModel.IGNORE_INDEX : (int) ((start + (long) stride * (i + 1)) % vocabSize);
        }
        return new Sample(ids, targets);
    }

    /** A well-spread seed per (run seed, sequence index): SplitMix64's finaliser. */
    private static long mix(long seed, long index) {
        long z = seed * 0x9E3779B97F4A7C15L + index + 0x632BE59BD9B4E019L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    @Override
    public String describe() {
        return "synthetic strided sequences (seed " + seed + ", vocab " + vocabSize + ")";
    }
}
