package io.easycontext.runtime.spec;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class EvalSpecTest {

    @Test
    void aMinimalNeedleSpecTakesTheDefaultsOfTheNeedleEvaluation() {
        NeedleEvalSpec needle = new NeedleEvalSpec("tiny", 4000, 8000, 2000, null, null, null, null, null);

        assertThat(needle.validate()).isEmpty();
        assertThat(needle.depthInterval()).isEqualTo(0.1);
        assertThat(needle.numSamples()).isEqualTo(1);
        assertThat(needle.rndNumberDigits()).isEqualTo(7);
        assertThat(needle.numDistractor()).isZero();
    }

    @Test
    void aReversedRangeIsReportedOnItsUpperBound() {
        NeedleEvalSpec needle = new NeedleEvalSpec("tiny", 8000, 4000, 2000, null, null, 19, null, null);

        assertThat(needle.validate()).containsExactly(
                new Violation("maxContextLength", "must be greater than or equal to minContextLength"),
                new Violation("rndNumberDigits", "must be less than or equal to 18"));
    }

    @Test
    void aMissingBoundIsReportedOnceAsMissing() {
        PerplexityEvalSpec open = new PerplexityEvalSpec("tiny", 1024, null, 1024, null, null);

        assertThat(open.validate()).containsExactly(new Violation("maxTokens", "must not be null"));
    }

    @Test
    void equalBoundsAreAValidRangeAndTheCommandLineHasEveryField() {
        PerplexityEvalSpec single = new PerplexityEvalSpec("tiny", 1024, 1024, 1024, null, null);

        assertThat(single.validate()).isEmpty();
        assertThat(CommandLine.render(single.commandLines().get(0))).isEqualTo(
                "eval-ppl --model tiny --min-tokens 1024 --max-tokens 1024 --tokens-step 1024 --truncate false");
    }
}
