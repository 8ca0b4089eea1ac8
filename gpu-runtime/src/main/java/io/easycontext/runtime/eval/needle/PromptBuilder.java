package io.easycontext.runtime.eval.needle;

import io.easycontext.runtime.eval.text.Haystack;
import io.easycontext.runtime.tokenizer.Tokenizer;

import java.util.SplittableRandom;

/**
 * Builds needle prompts as EasyContext does: the first {@code contextLength} haystack tokens; the needle inserted
 * after the first full stop at or past the depth point (at the very start for depth 0, at the depth point itself if
 * no full stop follows); each distractor after the first full stop at or past a random point of the text built so
 * far; then the prefix before, the question and the answer after. The context length counts haystack tokens only,
 * as there.
 */
public final class PromptBuilder {

    private final Tokenizer tokenizer;
    private final SentenceEnds sentenceEnds;
    private final NeedleTemplate template;
    private final Haystack haystack;

    public PromptBuilder(Tokenizer tokenizer, NeedleTemplate template, Haystack haystack) {
        this.tokenizer = tokenizer;
        this.sentenceEnds = new SentenceEnds(tokenizer);
        this.template = template;
        this.haystack = haystack;
    }

    public NeedleTemplate template() {
        return template;
    }

    /**
     * @param depth       where the needle goes, from 0 (start) to 1 (end of the haystack)
     * @param distractors numbers hidden under the template's distractor cities, in turn
     * @param random      places the distractors; seeded per prompt, so that every rank builds the same one
     */
    public NeedlePrompt build(int contextLength, double depth, long number, long[] distractors,
                              SplittableRandom random) {
        if (!(depth >= 0 && depth <= 1)) {
            throw new IllegalArgumentException("depth must be within [0, 1], not " + depth);
        }
        int[] text = haystack.prefix(contextLength);
        int needleAt = depth == 0 ? 0 : afterSentenceEnd(text, (int) (contextLength * depth));
        int[] needle = tokenizer.encode(template.needle(template.city(), number));
        text = insert(text, needleAt, needle);
        for (int i = 0; i < distractors.length; i++) {
            int[] distractor = tokenizer.encode(template.needle(template.distractorCity(i), distractors[i]));
            int at = afterSentenceEnd(text, random.nextInt(text.length + 1));
            text = insert(text, at, distractor);
            if (at <= needleAt) {
                needleAt += distractor.length;
            }
        }
        // The prefix opens the document, so it gets the special tokens a document starts with (BOS for Llama).
        int[] head = tokenizer.encodeWithSpecialTokens(template.prefix());
        int[] answer = tokenizer.encode(template.answer(number));
        int[] ids = concat(concat(head, text), concat(tokenizer.encode(template.question()), answer));
        return new NeedlePrompt(ids, ids.length - answer.length, answer.length, head.length + needleAt);
    }

    /** Just after the first sentence end at or past {@code from}; {@code from} itself when none follows. */
    private int afterSentenceEnd(int[] text, int from) {
        for (int i = from; i < text.length; i++) {
            if (sentenceEnds.test(text[i])) {
                return i + 1;
            }
        }
        return Math.min(from, text.length);
    }

    private static int[] insert(int[] into, int at, int[] what) {
        int[] out = new int[into.length + what.length];
        System.arraycopy(into, 0, out, 0, at);
        System.arraycopy(what, 0, out, at, what.length);
        System.arraycopy(into, at, out, at + what.length, into.length - at);
        return out;
    }

    private static int[] concat(int[] a, int[] b) {
        return insert(a, a.length, b);
    }
}
