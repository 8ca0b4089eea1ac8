package io.easycontext.runtime.eval.ppl;

import io.easycontext.runtime.eval.model.EvalModel;
import io.easycontext.runtime.model.LlamaModel;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class PerplexityTest {

    @Test
    void tokenWeightedAndWindowMeanPerplexitiesDifferAsDocumented() {
        PerplexityTally tally = new PerplexityTally();
        tally.add(new EvalModel.Nll(30 * Math.log(2), 30));
        tally.add(new EvalModel.Nll(10 * Math.log(8), 10));
        tally.add(new EvalModel.Nll(0, 0));
        // Token-weighted: exp((30 ln 2 + 10 ln 8) / 40) = 2^(60/40); window means: exp((ln 2 + ln 8) / 2) = 4.
        assertThat(tally.perplexity()).isCloseTo(Math.pow(2, 1.5), within(1e-12));
        assertThat(tally.meanOfWindowMeans()).isCloseTo(4, within(1e-12));
        assertThat(tally.tokens()).isEqualTo(40);
        assertThat(tally.windows()).isEqualTo(2);
    }

    /** A model that gives every next token probability 1/5 and tells how many targets it saw. */
    private static final class UniformOverFive implements EvalModel {
        int tokens;

        @Override
        public Map<Integer, double[]> logitsAt(int[] sequence, int[] positions) {
            throw new UnsupportedOperationException();
        }

        @Override
        public Nll nll(int[] sequence, int[] targets) {
            long n = LlamaModel.countTargets(targets);
            tokens += n;
            return new Nll(n * Math.log(5), n);
        }

        @Override
        public double sumOverRanks(double value) {
            return value;
        }
    }

    @Test
    void evaluationScoresEveryTokenOncePerLength() {
        UniformOverFive model = new UniformOverFive();
        List<int[]> docs = List.of(new int[100], new int[37]);
        List<PerplexityPoint> points = new PerplexityEvaluation(docs, 16, false, OptionalInt.of(1))
                .run(model, List.of(32, 64), p -> { });
        assertThat(points).extracting(PerplexityPoint::contextLength).containsExactly(32, 64);
        for (PerplexityPoint p : points) {
            assertThat(p.tokens()).isEqualTo(137);
            assertThat(p.perplexity()).isCloseTo(5, within(1e-12));
            assertThat(p.windowMeanPerplexity()).isCloseTo(5, within(1e-12));
        }
        assertThat(points.get(0).windows()).isEqualTo(6 + 2);
        assertThat(model.tokens).isEqualTo(2 * 137);
    }

    @Test
    void lengthsStepOrDouble() {
        assertThat(PerplexityEvaluation.lengths(256, 1024, 256)).containsExactly(256, 512, 768, 1024);
        assertThat(PerplexityEvaluation.lengths(256, 2000, null)).containsExactly(256, 512, 1024);
        assertThatThrownBy(() -> PerplexityEvaluation.lengths(512, 256, 1)).hasMessageContaining("no lengths");
    }
}
