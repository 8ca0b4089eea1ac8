package io.easycontext.runtime.eval.needle;

import io.easycontext.runtime.eval.model.EvalModel;
import io.easycontext.runtime.eval.text.Haystack;
import io.easycontext.runtime.tokenizer.ByteTokenizer;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.BiPredicate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The scorer and the grid driven by oracle models whose argmax is right or wrong by design. */
class TeacherForcingTest {

    private static final int VOCAB = ByteTokenizer.VOCAB_SIZE;

    /**
     * Logits whose argmax is the true next token where {@code right(sequence, position)} says so and a wrong token
     * elsewhere. It holds the positions {@code rank} owns of {@code ranks} (position mod ranks), and sums over
     * ranks by multiplying, as if every rank had found as much: enough to check that the scorer adds up shards.
     */
    private record Oracle(BiPredicate<int[], Integer> right, int rank, int ranks) implements EvalModel {
        @Override
        public Map<Integer, double[]> logitsAt(int[] sequence, int[] positions) {
            Map<Integer, double[]> out = new LinkedHashMap<>();
            for (int p : positions) {
                if (p % ranks == rank) {
                    double[] logits = new double[VOCAB];
                    int next = sequence[p + 1];
                    logits[right.test(sequence, p) ? next : (next + 1) % VOCAB] = 5;
                    out.put(p, logits);
                }
            }
            return out;
        }

        @Override
        public Nll nll(int[] sequence, int[] targets) {
            throw new UnsupportedOperationException("the needle test needs no loss");
        }

        @Override
        public double sumOverRanks(double value) {
            return value * ranks;
        }
    }

    private static final PromptBuilder PROMPTS = new PromptBuilder(ByteTokenizer.INSTANCE, NeedleTemplate.MAGIC_NUMBER,
            Haystack.filler(ByteTokenizer.INSTANCE, 2000));

    private static NeedlePrompt prompt() {
        return PROMPTS.build(300, 0.4, 8_675_309, new long[0], new SplittableRandom(1));
    }

    @Test
    void aRightArgmaxAtEveryAnswerPositionCounts() {
        assertThat(TeacherForcing.answers(new Oracle((s, p) -> true, 0, 1), prompt())).isTrue();
    }

    @Test
    void oneWrongTokenFailsTheWholeAnswer() {
        NeedlePrompt p = prompt();
        int last = p.answerStart() + p.answerLength() - 2;
        assertThat(TeacherForcing.answers(new Oracle((s, pos) -> pos != last, 0, 1), p)).isFalse();
        assertThat(TeacherForcing.answers(new Oracle((s, pos) -> pos != p.answerStart() - 1, 0, 1), p)).isFalse();
    }

    @Test
    void onlyTheAnswerPositionsAreScored() {
        NeedlePrompt p = prompt();
        assertThat(TeacherForcing.answers(new Oracle((s, pos) -> pos >= p.answerStart() - 1, 0, 1), p)).isTrue();
    }

    @Test
    void matchesCountsEachPositionAgainstTheTokenAfterIt() {
        NeedlePrompt p = prompt();
        Map<Integer, double[]> logits = new Oracle((s, pos) -> pos % 2 == 0, 0, 1).logitsAt(p.ids(),
                p.scoredPositions());
        long even = Arrays.stream(p.scoredPositions()).filter(pos -> pos % 2 == 0).count();
        assertThat(TeacherForcing.matches(logits, p)).isEqualTo(even);
    }

    @Test
    void shardsAddUpToTheWholeAnswer() {
        NeedlePrompt p = prompt();
        // Each of two ranks holds half the answer positions; their hits together make the whole answer.
        assertThat(TeacherForcing.answers(new Oracle((s, pos) -> true, 1, 2), p)).isTrue();
    }

    @Test
    void argmaxTakesTheFirstOfEqualLogits() {
        assertThat(TeacherForcing.argmax(new double[] {1, 3, 3, 2})).isEqualTo(1);
        assertThat(TeacherForcing.argmax(new double[] {-1, -2})).isEqualTo(0);
    }

    @Test
    void theGridScoresEveryCellAndAverages() {
        NeedleGrid grid = new NeedleGrid(200, 400, 100, 0.5);
        NeedleEvaluation evaluation = new NeedleEvaluation(PROMPTS, grid, NeedleNumbers.draw(4, 5, false, 3, 0), 4);
        // Right only where the needle sits in the first half of the prompt: the depth decides, not the length.
        Oracle firstHalf = new Oracle((s, pos) -> needleIn(s) < s.length / 2, 0, 1);
        List<CellScore> cells = evaluation.run(firstHalf, c -> { });
        assertThat(cells).hasSize(3 * 3);
        assertThat(cells).extracting(CellScore::contextLength).containsExactly(200, 200, 200, 300, 300, 300, 400,
                400, 400);
        assertThat(cells).extracting(CellScore::depthPercent).containsExactly(0, 50, 100, 0, 50, 100, 0, 50, 100);
        assertThat(cells).extracting(CellScore::score).containsExactly(1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0);
        assertThat(NeedleEvaluation.averageAccuracy(cells)).isCloseTo(2 / 3.0, within(1e-12));
    }

    /** Where the Singapore needle starts in a prompt's ids. */
    private static int needleIn(int[] ids) {
        return ByteTokenizer.INSTANCE.decode(ids).indexOf("Singapore number is: ");
    }
}
