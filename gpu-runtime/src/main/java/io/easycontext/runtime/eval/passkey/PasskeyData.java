package io.easycontext.runtime.eval.passkey;

import io.easycontext.runtime.eval.needle.NeedleNumbers;
import io.easycontext.runtime.eval.needle.NeedlePrompt;
import io.easycontext.runtime.eval.needle.PromptBuilder;
import io.easycontext.runtime.model.LlamaModel;
import io.easycontext.runtime.train.DataSource;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Training sequences for the passkey task: needle prompts exactly as the needle evaluation builds them (same
 * template, haystack and tokenizer), each with a random number at a random depth. Half of them fill the sequence
 * length; the other half are shorter, from an eighth of it up, and padded after the answer, which the causal model
 * never sees from the answer's positions. Without the shorter ones a stage that trains at one length teaches the
 * question's absolute position: a model trained at 1024 tokens then failed every test shorter than that. Only the
 * answer tokens carry a loss: the model learns to find the number and copy it, nothing about the filler. Sequence
 * {@code i} depends only on the seed and {@code i}.
 */
public final class PasskeyData implements DataSource {

    private final PromptBuilder prompts;
    private final long seed;
    private final int digits;
    private final int overhead;

    public PasskeyData(PromptBuilder prompts, long seed, int digits) {
        this.prompts = prompts;
        this.seed = seed;
        this.digits = digits;
        this.overhead = prompts.build(0, 0, key(new SplittableRandom(seed)), new long[0], new SplittableRandom(seed))
                .ids().length;
    }

    private long key(SplittableRandom random) {
        return NeedleNumbers.draw(random.nextLong(), digits, prompts.template().distinctDigits(), 1, 0).needles()[0];
    }

    /** Prompt tokens beyond the haystack: a sequence must be longer than this. */
    public int overhead() {
        return overhead;
    }

    @Override
    public Sample sample(long index, int seqLength) {
        if (seqLength <= overhead) {
            throw new IllegalArgumentException("a passkey sequence needs more than " + overhead + " tokens, not "
                    + seqLength);
        }
        SplittableRandom random = new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * (index + 1)));
        int room = seqLength - overhead;
        int haystack = random.nextBoolean() ? room : room / 8 + random.nextInt(room - room / 8 + 1);
        NeedlePrompt p = prompts.build(haystack, depth(random), key(random), new long[0], random);
        int[] ids = Arrays.copyOf(p.ids(), seqLength);
        // Any token will do after the answer: no scored position attends to it.
        Arrays.fill(ids, p.ids().length, seqLength, p.ids()[p.ids().length - 1]);
        int[] targets = new int[seqLength];
        Arrays.fill(targets, LlamaModel.IGNORE_INDEX);
        for (int pos : p.scoredPositions()) {
            targets[pos] = p.expectedAfter(pos);
        }
        return new Sample(ids, targets);
    }

    /**
     * Uniform over the haystack, but exactly at its start or its end a quarter of the time: the test puts needles
     * there (depths 0% and 100%), where a uniform depth would almost never go, and a model that never saw the
     * key first or last fails there.
     */
    private static double depth(SplittableRandom random) {
        return random.nextInt(4) == 0 ? random.nextInt(2) : random.nextDouble();
    }

    @Override
    public String describe() {
        return "passkey prompts with " + digits + "-digit numbers (seed " + seed + ")";
    }
}
