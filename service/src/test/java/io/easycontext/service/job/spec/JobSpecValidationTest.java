package io.easycontext.service.job.spec;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.stream.Collectors;

import io.easycontext.runtime.parallel.ParallelMode;
import io.easycontext.service.job.JobKind;
import jakarta.validation.ConstraintViolation;
import jakarta.validation.Validation;
import jakarta.validation.Validator;
import jakarta.validation.ValidatorFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The spec's own constraints, without Spring: what the API's 400s are made of. */
class JobSpecValidationTest {

    private static ValidatorFactory factory;
    private static Validator validator;

    @BeforeAll
    static void createValidator() {
        factory = Validation.buildDefaultValidatorFactory();
        validator = factory.getValidator();
    }

    @AfterAll
    static void closeValidator() {
        factory.close();
    }

    @Test
    void aMinimalTrainSpecIsValidAndTakesTheCliDefaults() {
        TrainSpec train = new TrainSpec("tiny", null, 64, null, null, null, null, 2, null, null, null, null);

        assertThat(violations(new JobSpec(JobKind.TRAIN, null, null, train, null, null))).isEmpty();
        assertThat(train.parallelMode()).isEqualTo(ParallelMode.ZIGZAG_RING_ATTN);
        assertThat(train.batchSize()).isEqualTo(1);
        assertThat(train.gradientAccumulateEvery()).isEqualTo(1);
        assertThat(train.learningRate()).isEqualTo(2e-5);
        assertThat(train.seed()).isZero();
    }

    @Test
    void aMinimalNeedleSpecTakesTheDefaultsOfTheNeedleEvaluation() {
        NeedleEvalSpec needle = new NeedleEvalSpec("tiny", 4000, 8000, 2000, null, null, null, null, null);

        assertThat(violations(new JobSpec(JobKind.EVAL_NEEDLE, null, null, null, needle, null))).isEmpty();
        assertThat(needle.depthInterval()).isEqualTo(0.1);
        assertThat(needle.numSamples()).isEqualTo(1);
        assertThat(needle.rndNumberDigits()).isEqualTo(7);
        assertThat(needle.numDistractor()).isZero();
    }

    @Test
    void equalBoundsAreAValidRange() {
        PerplexityEvalSpec single = new PerplexityEvalSpec("tiny", 1024, 1024, 1024, null, null);

        assertThat(violations(new JobSpec(JobKind.EVAL_PERPLEXITY, null, null, null, null, single))).isEmpty();
        assertThat(single.truncate()).isFalse();
    }

    @Test
    void aReversedRangeIsReportedOnItsUpperBound() {
        NeedleEvalSpec needle = new NeedleEvalSpec("tiny", 8000, 4000, 2000, null, null, null, null, null);

        assertThat(violations(new JobSpec(JobKind.EVAL_NEEDLE, null, null, null, needle, null))).containsExactly(
                Map.entry("evalNeedle.maxContextLength", "must be greater than or equal to minContextLength"));
    }

    @Test
    void aMissingBoundIsReportedOnceByItsNotNullAlone() {
        PerplexityEvalSpec open = new PerplexityEvalSpec("tiny", 1024, null, 1024, null, null);

        assertThat(violations(new JobSpec(JobKind.EVAL_PERPLEXITY, null, null, null, null, open)))
                .containsExactly(Map.entry("evalPerplexity.maxTokens", "must not be null"));
    }

    @Test
    void everySectionButTheKindsOwnIsRejected() {
        TrainSpec train = new TrainSpec("tiny", null, 64, null, null, null, null, 2, null, null, null, null);
        PerplexityEvalSpec perplexity = new PerplexityEvalSpec("tiny", 8, 16, 8, null, null);

        assertThat(violations(new JobSpec(JobKind.EVAL_NEEDLE, null, null, train, null, perplexity))).containsOnly(
                Map.entry("evalNeedle", "must be given for kind EVAL_NEEDLE"),
                Map.entry("train", "must be left out for kind EVAL_NEEDLE"),
                Map.entry("evalPerplexity", "must be left out for kind EVAL_NEEDLE"));
    }

    @Test
    void withoutAKindOnlyTheKindIsReported() {
        TrainSpec train = new TrainSpec("tiny", null, 64, null, null, null, null, 2, null, null, null, null);

        assertThat(violations(new JobSpec(null, null, null, train, null, null)))
                .containsExactly(Map.entry("kind", "must not be null"));
    }

    @Test
    void everyKindHasASectionOfItsOwnName() {
        for (JobKind kind : JobKind.values()) {
            assertThat(JobSpec.class.getRecordComponents())
                    .anySatisfy(component -> assertThat(component.getName()).isEqualTo(JobSpec.sectionName(kind)));
        }
    }

    private static Map<String, String> violations(JobSpec spec) {
        return validator.validate(spec).stream()
                .collect(Collectors.toMap(v -> v.getPropertyPath().toString(), ConstraintViolation::getMessage));
    }
}
