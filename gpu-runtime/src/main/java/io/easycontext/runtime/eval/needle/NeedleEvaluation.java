package io.easycontext.runtime.eval.needle;

import io.easycontext.runtime.eval.model.EvalModel;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * The needle test over a grid: in every cell, each sample's number hidden at the cell's depth of a haystack of the
 * cell's length, scored by {@link TeacherForcing}. Every rank runs it with the same arguments and builds the same
 * prompts (the distractors' places come from a generator seeded per prompt), so the ranks of a sequence-parallel
 * group agree on every call.
 */
public final class NeedleEvaluation {

    private final PromptBuilder prompts;
    private final NeedleGrid grid;
    private final NeedleNumbers numbers;
    private final long seed;

    public NeedleEvaluation(PromptBuilder prompts, NeedleGrid grid, NeedleNumbers numbers, long seed) {
        this.prompts = prompts;
        this.grid = grid;
        this.numbers = numbers;
        this.seed = seed;
    }

    /** Scores every cell, lengths outermost; {@code onCell} sees each as it is done. */
    public List<CellScore> run(EvalModel model, Consumer<CellScore> onCell) {
        List<CellScore> cells = new ArrayList<>();
        List<Integer> lengths = grid.lengths();
        List<Double> depths = grid.depths();
        for (int li = 0; li < lengths.size(); li++) {
            for (int di = 0; di < depths.size(); di++) {
                int found = 0;
                long[] needles = numbers.needles();
                for (int s = 0; s < needles.length; s++) {
                    SplittableRandom random = new SplittableRandom(seed ^ (((long) li << 40) + ((long) di << 20) + s));
                    NeedlePrompt prompt = prompts.build(lengths.get(li), depths.get(di), needles[s],
                            numbers.distractors(), random);
                    if (TeacherForcing.answers(model, prompt)) {
                        found++;
                    }
                }
                CellScore cell = new CellScore(lengths.get(li), depths.get(di), (double) found / needles.length,
                        needles.length);
                cells.add(cell);
                onCell.accept(cell);
            }
        }
        return cells;
    }

    /** The mean of the cells' scores, as EasyContext reports it. */
    public static double averageAccuracy(List<CellScore> cells) {
        return cells.stream().mapToDouble(CellScore::score).average().orElse(Double.NaN);
    }
}
