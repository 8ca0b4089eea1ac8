package io.easycontext.runtime.spec;

import io.easycontext.runtime.parallel.ParallelMode;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class EvalSpecTest {

    @Test
    void aMinimalNeedleSpecTakesTheDefaultsOfEvalNeedle() {
        NeedleEvalSpec needle = NeedleEvalSpec.builder().model("small").build();

        assertThat(needle.validate()).isEmpty();
        assertThat(needle).isEqualTo(new NeedleEvalSpec("small", 1000, 4000, 1000, 0.1, 1, 7, 0, null,
                "magic-number", null, null, "cpu:1", ParallelMode.DATA_PARALLEL, null, null, "f32", 2022L, true));
        assertThat(NeedleEvalSpec.builder().model("small").devices("cpu:2").build().parallelMode())
                .isEqualTo(ParallelMode.ZIGZAG_RING_ATTN);
    }

    @Test
    void aReversedRangeIsReportedOnItsUpperBound() {
        NeedleEvalSpec needle = NeedleEvalSpec.builder().model("small").minContextLength(8000)
                .maxContextLength(4000).rndNumberDigits(19).build();

        assertThat(needle.validate()).containsExactly(
                new Violation("maxContextLength", "must be greater than or equal to minContextLength"),
                new Violation("rndNumberDigits", "must be less than or equal to 18"));
    }

    @Test
    void aPasskeyNeedleRepeatsNoDigitSoItHasAtMostTen() {
        NeedleEvalSpec needle = NeedleEvalSpec.builder().model("small").template("passkey").rndNumberDigits(11)
                .build();

        assertThat(needle.validate()).containsExactly(
                new Violation("rndNumberDigits", "must be less than or equal to 10"));
    }

    @Test
    void theSharedFieldsAreCheckedAsTheCommandReadsThem() {
        PerplexityEvalSpec spec = PerplexityEvalSpec.builder().model("tiny").devices("tpu:0").dtype("bf16")
                .ropeTheta(1.0).tokenizer("no/such/tokenizer.json").dataset("no/such/docs.jsonl").minTokens(1)
                .build();

        assertThat(spec.validate()).containsExactlyInAnyOrder(
                new Violation("tokenizer", "must be byte, a tokenizer.json or a directory holding one, "
                        + "not 'no/such/tokenizer.json'"),
                new Violation("ropeTheta", "must be greater than 1"),
                new Violation("devices", "must be cpu:N (N simulated ranks on the CPU backend) or cuda:K, cuda:0,1, cuda:0-3 (GPUs, one rank each), not 'tpu:0'"),
                new Violation("dtype", "must be f32 or f64, not 'bf16'"),
                new Violation("minTokens", "must be greater than or equal to 2"),
                new Violation("dataset", "must be a directory of .txt files or a .jsonl file, not "
                        + "'no/such/docs.jsonl'"));
    }

    @Test
    void bytesDoNotFitAModelOf256Ids() {
        assertThat(PerplexityEvalSpec.builder().model("tiny").build().validate()).containsExactly(
                new Violation("tokenizer", "bytes need 258 ids, more than the model's vocabulary of 256; give a "
                        + "model whose vocabulary holds them, or a tokenizer"));
    }

    @Test
    void theRanksMustSplitTheHeads() {
        NeedleEvalSpec spec = NeedleEvalSpec.builder().model("small").devices("cpu:3")
                .parallelMode(ParallelMode.ULYSSES_ATTN).build();

        assertThat(spec.validate()).singleElement().extracting(Violation::field).isEqualTo("parallelMode");
    }

    /** auto is the training's: an evaluation names its mode (or leaves it to its devices). */
    @Test
    void anEvaluationDoesNotTakeAuto() {
        NeedleEvalSpec spec = NeedleEvalSpec.builder().model("small").devices("cpu:2")
                .parallelMode(ParallelMode.AUTO).build();

        assertThat(spec.validate()).containsExactly(new Violation("parallelMode",
                "parallel mode auto is a training's to choose (train, plan and training jobs); give a mode here"));
    }

    @Test
    void theCommandLinesHaveEveryFieldAsItsFlag() {
        NeedleEvalSpec needle = NeedleEvalSpec.builder().model("small").minContextLength(128).maxContextLength(256)
                .contextInterval(128).depthInterval(0.5).build();
        PerplexityEvalSpec ppl = PerplexityEvalSpec.builder().model("small").minTokens(64).maxTokens(256).build();

        assertThat(CommandLine.render(needle.commandLines().get(0))).isEqualTo("eval-needle --model small "
                + "--min-context-length 128 --max-context-length 256 --context-interval 128 --depth-interval 0.5 "
                + "--num-samples 1 --rnd-number-digits 7 --num-distractor 0 --template magic-number "
                + "--devices cpu:1 --parallel-mode data_parallel --dtype f32 --seed 2022 --plot true");
        assertThat(CommandLine.render(ppl.commandLines().get(0))).isEqualTo("eval-ppl --model small "
                + "--min-tokens 64 --max-tokens 256 --sliding-window 256 --truncate false --dataset-min-tokens 0 "
                + "--devices cpu:1 --parallel-mode data_parallel --dtype f32 --seed 2022 --plot true");
    }
}
