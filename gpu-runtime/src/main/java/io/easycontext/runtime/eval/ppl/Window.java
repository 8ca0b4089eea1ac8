package io.easycontext.runtime.eval.ppl;

/**
 * One forward pass of a perplexity evaluation: input ids and, for each, the token it is scored on predicting
 * ({@link io.easycontext.runtime.model.LlamaModel#IGNORE_INDEX} where it is not).
 */
public record Window(int[] ids, int[] targets) {

    public Window {
        if (ids.length != targets.length) {
            throw new IllegalArgumentException(ids.length + " ids but " + targets.length + " targets");
        }
    }
}
