package io.easycontext.runtime.spec;

import io.easycontext.runtime.parallel.ParallelMode;

/**
 * One stage of a progressive training (EasyContext's recipe: the same model trained at growing sequence lengths,
 * each stage starting from the previous stage's weights with a fresh optimizer). A field left null takes the
 * value of the enclosing {@link TrainSpec}.
 *
 * @param checkpointEvery the stage's own checkpoint interval: its steps may cost more than another stage's
 */
public record TrainStage(
        Integer seqLength,
        Double ropeTheta,
        Integer maxTrainSteps,
        Double learningRate,
        String dataset,
        ParallelMode parallelMode,
        Integer checkpointEvery) {

    void check(Checks checks) {
        TrainSpec.checkShared(checks, seqLength, ropeTheta, maxTrainSteps, learningRate, dataset, checkpointEvery);
    }
}
