package io.easycontext.service.live;

/**
 * One optimizer step of a training, as the job's event stream sends it: a line of {@code metrics/stage-K.jsonl}
 * with its place in the whole training.
 *
 * @param step the step over all stages, from 1: the x axis of a chart, and the event's id
 * @param stage the stage it belongs to, from 0
 * @param stageStep the step within its stage, from 1, as the stage's command line numbers it
 * @param tokens the step's tokens over the whole world
 */
record StepEvent(
        long step,
        int stage,
        long stageStep,
        double loss,
        double gradNorm,
        double lr,
        long tokens,
        double tokensPerSecond) {
}
