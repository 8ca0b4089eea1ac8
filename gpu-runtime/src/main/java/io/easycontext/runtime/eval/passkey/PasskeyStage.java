package io.easycontext.runtime.eval.passkey;

/**
 * One stage of the progressive recipe: a sequence length, the rope theta trained at, and the optimizer's budget.
 * A stage starts from the previous stage's weights with a fresh optimizer, as EasyContext's stages do.
 */
public record PasskeyStage(int seqLength, double ropeTheta, int steps, int batchSize, double learningRate,
                           int warmupSteps) {

    public PasskeyStage {
        if (seqLength < 1 || steps < 1 || batchSize < 1 || warmupSteps < 0 || !(learningRate > 0)
                || !(ropeTheta > 1)) {
            throw new IllegalArgumentException("a stage needs positive lengths, steps, batch and learning rate and a "
                    + "theta above 1: " + this);
        }
    }
}
