package io.easycontext.runtime.eval.needle;

import io.easycontext.runtime.eval.model.EvalModel;

import java.util.Map;

/**
 * EasyContext's scoring: the prompt and its answer go through the model in one forward pass, and the answer counts
 * as found when the most likely next token at every answer position is the answer's token there. No generation, so
 * the verdict is exact and cheap, and a model gets no credit for part of a number.
 */
public final class TeacherForcing {

    private TeacherForcing() {
    }

    /** Whether the model predicts every answer token of {@code prompt}; the same verdict on every rank. */
    public static boolean answers(EvalModel model, NeedlePrompt prompt) {
        Map<Integer, double[]> logits = model.logitsAt(prompt.ids(), prompt.scoredPositions());
        return model.sumOverRanks(matches(logits, prompt)) == prompt.answerLength();
    }

    /** How many of the given positions' predictions are the answer token that follows them. */
    static int matches(Map<Integer, double[]> logitsByPosition, NeedlePrompt prompt) {
        int hits = 0;
        for (Map.Entry<Integer, double[]> e : logitsByPosition.entrySet()) {
            if (argmax(e.getValue()) == prompt.expectedAfter(e.getKey())) {
                hits++;
            }
        }
        return hits;
    }

    /** The index of the largest logit; the first of equal ones, as torch's argmax. */
    static int argmax(double[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }
}
