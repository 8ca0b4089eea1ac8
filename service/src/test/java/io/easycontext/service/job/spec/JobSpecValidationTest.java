package io.easycontext.service.job.spec;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import io.easycontext.runtime.parallel.ParallelMode;
import io.easycontext.runtime.spec.NeedleEvalSpec;
import io.easycontext.runtime.spec.PerplexityEvalSpec;
import io.easycontext.runtime.spec.TrainSpec;
import io.easycontext.runtime.spec.TrainStage;
import io.easycontext.service.job.JobKind;
import jakarta.validation.ConstraintViolation;
import jakarta.validation.Validation;
import jakarta.validation.Validator;
import jakarta.validation.ValidatorFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The request's constraints, without Spring: the envelope's own, and the runtime spec's under its section. */
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
    void aMinimalTrainSpecIsValid() {
        TrainSpec train = TrainSpec.builder().seqLength(64).maxTrainSteps(2).build();

        assertThat(violations(new JobSpec(JobKind.TRAIN, null, null, train, null, null))).isEmpty();
    }

    @Test
    void theRuntimesViolationsAreReportedUnderTheSection() {
        TrainSpec train = TrainSpec.builder().seqLength(0).model(" ").build();

        assertThat(violations(new JobSpec(JobKind.TRAIN, null, null, train, null, null))).containsOnly(
                Map.entry("train.seqLength", "must be greater than or equal to 1"),
                Map.entry("train.model", "must not be blank"));
    }

    @Test
    void aStageIsNamedByItsIndexAndTheParallelLayoutIsChecked() {
        TrainSpec train = TrainSpec.builder().devices("cpu:4").parallelMode(ParallelMode.ZIGZAG_RING_ATTN)
                .seqLength(64).stages(List.of(new TrainStage(null, null, null, null, null, null, null),
                        new TrainStage(60, null, -1, null, null, null, null)))
                .build();

        assertThat(violations(new JobSpec(JobKind.TRAIN, null, null, train, null, null))).containsOnly(
                Map.entry("train.stages[1].maxTrainSteps", "must be greater than or equal to 1"));

        TrainSpec indivisible = TrainSpec.builder().devices("cpu:4").parallelMode(ParallelMode.ZIGZAG_RING_ATTN)
                .seqLength(64).stages(List.of(new TrainStage(60, null, null, null, null, null, null))).build();
        assertThat(violations(new JobSpec(JobKind.TRAIN, null, null, indivisible, null, null))).containsOnly(
                Map.entry("train.stages[0].parallelMode",
                        "zigzag_ring_attn needs seq_length divisible by 2 × ring size (2×4=8): 60 is not"));
    }

    @Test
    void messagesWithBracesAreNotTakenForTemplates() {
        TrainSpec train = TrainSpec.builder().model("{oops}").build();

        assertThat(violations(new JobSpec(JobKind.TRAIN, null, null, train, null, null)).get("train.model"))
                .startsWith("'{oops}' is neither a preset");
    }

    @Test
    void aReversedRangeIsReportedOnItsUpperBound() {
        NeedleEvalSpec needle = NeedleEvalSpec.builder().model("small").minContextLength(8000).maxContextLength(4000)
                .build();

        assertThat(violations(new JobSpec(JobKind.EVAL_NEEDLE, null, null, null, needle, null))).containsExactly(
                Map.entry("evalNeedle.maxContextLength", "must be greater than or equal to minContextLength"));
    }

    @Test
    void theEnvelopeBoundsPriorityAndGpus() {
        TrainSpec train = TrainSpec.builder().build();

        assertThat(violations(new JobSpec(JobKind.TRAIN, 5000, -1, train, null, null))).containsOnly(
                Map.entry("priority", "must be less than or equal to 1000"),
                Map.entry("gpus", "must be greater than or equal to 0"));
    }

    @Test
    void aGpuJobsDevicesLeftOutAreItsGpusAndItsLayoutIsCheckedOverThemWithoutTheGpusBeingHere() {
        TrainSpec train = TrainSpec.builder().parallelMode(ParallelMode.ZIGZAG_RING_ATTN).seqLength(64).build();
        JobSpec job = new JobSpec(JobKind.TRAIN, null, 4, train, null, null);

        assertThat(job.train().devices()).isEqualTo("cuda:0,1,2,3");
        assertThat(violations(job)).isEmpty();

        TrainSpec indivisible = TrainSpec.builder().parallelMode(ParallelMode.ZIGZAG_RING_ATTN).seqLength(60).build();
        assertThat(violations(new JobSpec(JobKind.TRAIN, null, 4, indivisible, null, null))).containsOnly(
                Map.entry("train.parallelMode",
                        "zigzag_ring_attn needs seq_length divisible by 2 × ring size (2×4=8): 60 is not"));
    }

    @Test
    void namedGpusAreCountedAgainstGpusWhateverTheirOrdinals() {
        TrainSpec named = TrainSpec.builder().devices("cuda:6,7").build();

        assertThat(violations(new JobSpec(JobKind.TRAIN, null, 2, named, null, null))).isEmpty();
        assertThat(violations(new JobSpec(JobKind.TRAIN, null, 3, named, null, null))).containsOnly(
                Map.entry("train.devices", "must name 3 GPU(s), as gpus asks, not 2 (cuda:6,7); the scheduler "
                        + "replaces the ordinals with the GPUs it assigns"));
    }

    @Test
    void cpuRanksNeedGpus0AndGpusNeedGpusToSayHowMany() {
        TrainSpec cpu = TrainSpec.builder().devices("cpu:4").build();
        NeedleEvalSpec cuda = NeedleEvalSpec.builder().model("small").minContextLength(64).maxContextLength(64)
                .devices("cuda:0-1").build();

        assertThat(violations(new JobSpec(JobKind.TRAIN, null, 2, cpu, null, null))).containsOnly(
                Map.entry("train.devices", "must be left out or cuda:… with 2 GPU(s) for a job with gpus 2, not cpu:4"));
        assertThat(violations(new JobSpec(JobKind.EVAL_NEEDLE, null, null, null, cuda, null))).containsOnly(
                Map.entry("gpus", "must be 2 to run on cuda:0,1: a job holds GPUs through gpus, and the scheduler "
                        + "picks which"));
    }

    @Test
    void anEvaluationOnGpusLeftToDefaultsSharesEachSequenceAmongThemAsTheCliDoes() {
        NeedleEvalSpec.Builder needle = NeedleEvalSpec.builder().model("small").minContextLength(64)
                .maxContextLength(64);

        JobSpec defaults = new JobSpec(JobKind.EVAL_NEEDLE, null, 2, null, needle.build(), null);
        JobSpec ulysses = new JobSpec(JobKind.EVAL_NEEDLE, null, 2, null,
                needle.parallelMode(ParallelMode.ULYSSES_ATTN).build(), null);

        assertThat(defaults.evalNeedle().devices()).isEqualTo("cuda:0,1");
        assertThat(defaults.evalNeedle().parallelMode()).isEqualTo(ParallelMode.ZIGZAG_RING_ATTN);
        assertThat(violations(defaults)).isEmpty();
        assertThat(ulysses.evalNeedle().parallelMode()).isEqualTo(ParallelMode.ULYSSES_ATTN);
        assertThat(violations(ulysses)).isEmpty();
    }

    @Test
    void everySectionButTheKindsOwnIsRejected() {
        TrainSpec train = TrainSpec.builder().build();
        PerplexityEvalSpec perplexity = PerplexityEvalSpec.builder().model("small").build();

        assertThat(violations(new JobSpec(JobKind.EVAL_NEEDLE, null, null, train, null, perplexity))).containsOnly(
                Map.entry("evalNeedle", "must be given for kind EVAL_NEEDLE"),
                Map.entry("train", "must be left out for kind EVAL_NEEDLE"),
                Map.entry("evalPerplexity", "must be left out for kind EVAL_NEEDLE"));
    }

    @Test
    void withoutAKindOnlyTheKindIsReported() {
        TrainSpec train = TrainSpec.builder().seqLength(0).build();

        assertThat(violations(new JobSpec(null, null, null, train, null, null)))
                .containsExactly(Map.entry("kind", "must not be null"));
    }

    @Test
    void everyKindHasASectionOfItsOwnNameAndType() {
        for (JobKind kind : JobKind.values()) {
            assertThat(JobSpec.class.getRecordComponents()).anySatisfy(component -> {
                assertThat(component.getName()).isEqualTo(JobSpec.sectionName(kind));
                assertThat(component.getType()).isEqualTo(kind.specType());
            });
        }
    }

    private static Map<String, String> violations(JobSpec spec) {
        return validator.validate(spec).stream()
                .collect(Collectors.toMap(v -> v.getPropertyPath().toString(), ConstraintViolation::getMessage));
    }
}
