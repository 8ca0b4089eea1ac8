package io.easycontext.service.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.BDDMockito.given;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.verify;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

import io.easycontext.runtime.spec.NeedleEvalSpec;
import io.easycontext.runtime.spec.TrainSpec;
import io.easycontext.runtime.spec.Violation;
import io.easycontext.service.job.spec.JobDevices;
import io.easycontext.service.job.spec.JobSpec;
import org.junit.jupiter.api.Test;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.http.HttpStatus;
import org.springframework.transaction.PlatformTransactionManager;
import tools.jackson.databind.json.JsonMapper;

class JobServiceTest {

    private final JobRepository repository = mock(JobRepository.class);
    private final JobAdmission admission = mock(JobAdmission.class);
    private final ApplicationEventPublisher events = mock(ApplicationEventPublisher.class);
    private final PlatformTransactionManager transactions = mock(PlatformTransactionManager.class);
    private final Clock clock = Clock.fixed(Instant.parse("2026-01-02T03:04:05.123456789Z"), ZoneOffset.UTC);
    private final JobService service = new JobService(repository, new JobChanges(repository, transactions, clock),
            admission, new JsonMapper(), events, transactions);

    private final JobSpec needle = new JobSpec(JobKind.EVAL_NEEDLE, 7, 2, null,
            NeedleEvalSpec.builder().model("/models/llama").minContextLength(4000).maxContextLength(8000)
                    .contextInterval(2000).numSamples(2).numDistractor(3).build(), null);

    @Test
    void submitStoresAQueuedJobWithTheSectionOfItsKindAsJsonAndItsCommandLine() {
        given(repository.saveAndFlush(any())).willAnswer(invocation -> invocation.getArgument(0));

        Job job = service.submit(needle, null).job();

        assertThat(job.getKind()).isEqualTo(JobKind.EVAL_NEEDLE);
        assertThat(job.getState()).isEqualTo(JobState.QUEUED);
        assertThat(job.getPriority()).isEqualTo(7);
        assertThat(job.getGpus()).isEqualTo(2);
        assertThat(job.getSpecJson()).isEqualTo("{\"model\":\"/models/llama\",\"minContextLength\":4000,"
                + "\"maxContextLength\":8000,\"contextInterval\":2000,\"depthInterval\":0.1,\"numSamples\":2,"
                + "\"rndNumberDigits\":7,\"numDistractor\":3,\"haystackDir\":null,\"template\":\"magic-number\","
                + "\"tokenizer\":null,\"ropeTheta\":null,\"devices\":\"cuda:0,1\",\"parallelMode\":\"zigzag_ring_attn\","
                + "\"ulyssesDegree\":null,\"ringDegree\":null,\"dtype\":\"f32\",\"seed\":2022,\"plot\":true}");
        // Its devices, left out, are its two GPUs; the ordinals hold until the scheduler gives it its own.
        assertThat(job.getCommandLines()).containsExactly("java -jar gpu-runtime/target/gpu-runtime.jar eval-needle "
                + "--model /models/llama --min-context-length 4000 --max-context-length 8000 --context-interval 2000 "
                + "--depth-interval 0.1 --num-samples 2 --rnd-number-digits 7 --num-distractor 3 --template magic-number "
                + "--devices cuda:0,1 --parallel-mode zigzag_ring_attn --dtype f32 --seed 2022 --plot true");
        assertThat(job.getCreatedAt()).isEqualTo(Instant.parse("2026-01-02T03:04:05.123456Z"));
        verify(events).publishEvent(new JobEvents.Submitted(job.getId(), JobKind.EVAL_NEEDLE, 7, 2));
    }

    @Test
    void aSpecTheNodeCannotRunIsRejectedBeforeAnythingIsStored() {
        given(admission.check(needle)).willReturn(List.of(new Violation("gpus", "must be less than or equal to 0")));

        assertThatThrownBy(() -> service.submit(needle, null)).isInstanceOf(JobRejectedException.class);
        verify(repository, never()).saveAndFlush(any());
    }

    @Test
    void aRepeatedIdempotencyKeyReturnsTheEarlierJob() {
        given(repository.saveAndFlush(any())).willAnswer(invocation -> invocation.getArgument(0));
        Job first = service.submit(needle, "key-1").job();
        given(repository.findByIdempotencyKey("key-1")).willReturn(Optional.of(first));

        JobService.Submission again = service.submit(needle, "key-1");

        assertThat(again.created()).isFalse();
        assertThat(again.job()).isSameAs(first);
    }

    @Test
    void aRepeatedIdempotencyKeyFindsAGpuJobThatStartedOnOtherGpusThanItsPlaceholders() {
        given(repository.saveAndFlush(any())).willAnswer(invocation -> invocation.getArgument(0));
        Job first = service.submit(needle, "key-1").job();
        first.start(List.of(3, 5), Instant.EPOCH);
        NeedleEvalSpec placed = (NeedleEvalSpec) JobDevices.onGpus(needle.spec(), first.getGpuIds());
        first.placeOn(new JsonMapper().writeValueAsString(placed), RuntimeCommandLines.of(placed));
        given(repository.findByIdempotencyKey("key-1")).willReturn(Optional.of(first));

        JobService.Submission again = service.submit(needle, "key-1");

        assertThat(first.getSpecJson()).contains("\"devices\":\"cuda:3,5\"");
        assertThat(first.getCommandLines()).singleElement().asString().contains("--devices cuda:3,5 ");
        assertThat(again.job()).isSameAs(first);
    }

    @Test
    void anIdempotencyKeyReusedForAnotherRequestIs422() {
        given(repository.saveAndFlush(any())).willAnswer(invocation -> invocation.getArgument(0));
        Job first = service.submit(needle, "key-1").job();
        given(repository.findByIdempotencyKey("key-1")).willReturn(Optional.of(first));
        JobSpec other = new JobSpec(JobKind.TRAIN, null, null, TrainSpec.builder().build(), null, null);

        assertThatThrownBy(() -> service.submit(other, "key-1"))
                .isInstanceOfSatisfying(IdempotencyKeyReusedException.class,
                        e -> assertThat(e.getStatusCode()).isEqualTo(HttpStatus.UNPROCESSABLE_CONTENT));
    }

    @Test
    void cancelOfAQueuedJobCancelsItAndTellsTheRunners() {
        Job job = Job.queued(UUID.randomUUID(), JobKind.TRAIN, 0, 0, "{}", Instant.EPOCH);
        given(repository.findById(job.getId())).willReturn(Optional.of(job));

        service.cancel(job.getId());

        assertThat(job.getState()).isEqualTo(JobState.CANCELLED);
        verify(events).publishEvent(new JobEvents.CancelRequested(job.getId(), JobState.CANCELLED));
    }

    @Test
    void getOfAnUnknownIdThrowsA404NamingIt() {
        UUID id = UUID.randomUUID();
        given(repository.findById(id)).willReturn(Optional.empty());

        assertThatThrownBy(() -> service.get(id))
                .isInstanceOfSatisfying(JobNotFoundException.class, e -> {
                    assertThat(e.getStatusCode()).isEqualTo(HttpStatus.NOT_FOUND);
                    assertThat(e.getBody().getDetail()).isEqualTo("No job with id " + id);
                });
    }
}
