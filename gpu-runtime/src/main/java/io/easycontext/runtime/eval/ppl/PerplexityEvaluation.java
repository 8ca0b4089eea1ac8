package io.easycontext.runtime.eval.ppl;

import io.easycontext.runtime.eval.model.EvalModel;
import io.easycontext.runtime.eval.model.EvalModel.Nll;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.function.Consumer;

/**
 * Perplexity of documents at growing context lengths, EasyContext's {@code eval_ppl}: at each length every document
 * is cut into {@link SlidingWindows} (or truncated to one window), and every window is one forward pass. Every rank
 * runs it with the same documents and lengths.
 */
public final class PerplexityEvaluation {

    private final List<int[]> documents;
    private final int stride;
    private final boolean truncate;
    private final OptionalInt bos;

    /** {@code stride}: EasyContext's {@code --sliding-window}; ignored with {@code truncate}. */
    public PerplexityEvaluation(List<int[]> documents, int stride, boolean truncate, OptionalInt bos) {
        if (documents.isEmpty()) {
            throw new IllegalArgumentException("no documents to evaluate on");
        }
        this.documents = List.copyOf(documents);
        this.stride = stride;
        this.truncate = truncate;
        this.bos = bos;
    }

    public List<PerplexityPoint> run(EvalModel model, List<Integer> lengths, Consumer<PerplexityPoint> onPoint) {
        List<PerplexityPoint> points = new ArrayList<>();
        for (int length : lengths) {
            SlidingWindows windows = new SlidingWindows(length, stride, truncate, bos);
            PerplexityTally tally = new PerplexityTally();
            for (int[] doc : documents) {
                for (Window w : windows.of(doc)) {
                    Nll local = model.nll(w.ids(), w.targets());
                    tally.add(new Nll(model.sumOverRanks(local.sum()), Math.round(model.sumOverRanks(local.tokens()))));
                }
            }
            PerplexityPoint point = new PerplexityPoint(length, tally.tokens(), tally.windows(), tally.perplexity(),
                    tally.meanOfWindowMeans());
            points.add(point);
            onPoint.accept(point);
        }
        return points;
    }

    /** EasyContext's lengths: {@code min} to {@code max} by {@code step}, or doubling from {@code min} without one. */
    public static List<Integer> lengths(int min, int max, Integer step) {
        if (min < 2 || max < min || (step != null && step < 1)) {
            throw new IllegalArgumentException("token counts from " + min + " to " + max + " by " + step
                    + " make no lengths");
        }
        List<Integer> lengths = new ArrayList<>();
        for (long n = min; n <= max; n = step == null ? 2 * n : n + step) {
            lengths.add((int) n);
        }
        return lengths;
    }
}
