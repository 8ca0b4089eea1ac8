package io.easycontext.runtime.eval.needle;

/**
 * One teacher-forced needle test: the prompt with the answer appended.
 *
 * @param ids         prefix, haystack with the needle (and distractors) in it, question, answer
 * @param answerStart index of the first answer token in {@code ids}
 * @param answerLength answer tokens, the last ones of {@code ids}
 * @param needleStart index of the needle's first token in {@code ids}
 */
public record NeedlePrompt(int[] ids, int answerStart, int answerLength, int needleStart) {

    public NeedlePrompt {
        if (answerLength < 1 || answerStart < 1 || answerStart + answerLength != ids.length) {
            throw new IllegalArgumentException("the answer (" + answerLength + " tokens from " + answerStart
                    + ") must end the " + ids.length + " ids and follow at least one token");
        }
    }

    /**
     * The positions whose next-token prediction is an answer token: {@code answerStart − 1 + k} predicts answer
     * token {@code k}.
     */
    public int[] scoredPositions() {
        int[] p = new int[answerLength];
        for (int k = 0; k < answerLength; k++) {
            p[k] = answerStart - 1 + k;
        }
        return p;
    }

    /** The token the prediction at {@code position} must equal. */
    public int expectedAfter(int position) {
        return ids[position + 1];
    }
}
