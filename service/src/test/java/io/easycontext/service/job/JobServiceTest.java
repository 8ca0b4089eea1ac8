package io.easycontext.service.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.BDDMockito.given;
import static org.mockito.Mockito.mock;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Optional;
import java.util.UUID;

import io.easycontext.service.job.spec.JobSpec;
import io.easycontext.service.job.spec.NeedleEvalSpec;
import org.junit.jupiter.api.Test;
import org.springframework.http.HttpStatus;
import tools.jackson.databind.json.JsonMapper;

class JobServiceTest {

    private final JobRepository repository = mock(JobRepository.class);
    private final Clock clock = Clock.fixed(Instant.parse("2026-01-02T03:04:05.123456789Z"), ZoneOffset.UTC);
    private final JobService service = new JobService(repository, new JsonMapper(), clock);

    @Test
    void submitStoresAQueuedJobWithTheSectionOfItsKindAsJson() {
        given(repository.save(any())).willAnswer(invocation -> invocation.getArgument(0));
        NeedleEvalSpec needle = new NeedleEvalSpec("/models/llama", 4000, 8000, 2000, null, 2, null, 3, null);

        Job job = service.submit(new JobSpec(JobKind.EVAL_NEEDLE, 7, 2, null, needle, null));

        assertThat(job.getId()).isNotNull();
        assertThat(job.getKind()).isEqualTo(JobKind.EVAL_NEEDLE);
        assertThat(job.getState()).isEqualTo(JobState.QUEUED);
        assertThat(job.getPriority()).isEqualTo(7);
        assertThat(job.getGpus()).isEqualTo(2);
        assertThat(job.getSpecJson()).isEqualTo("{\"model\":\"/models/llama\",\"minContextLength\":4000,"
                + "\"maxContextLength\":8000,\"contextInterval\":2000,\"depthInterval\":0.1,\"numSamples\":2,"
                + "\"rndNumberDigits\":7,\"numDistractor\":3,\"haystackDir\":null}");
    }

    @Test
    void submitStampsTheJobWithTheClockAtTheDatabasesMicrosecondPrecision() {
        given(repository.save(any())).willAnswer(invocation -> invocation.getArgument(0));
        NeedleEvalSpec needle = new NeedleEvalSpec("tiny", 4000, 8000, 2000, null, null, null, null, null);

        Job job = service.submit(new JobSpec(JobKind.EVAL_NEEDLE, null, null, null, needle, null));

        assertThat(job.getCreatedAt()).isEqualTo(Instant.parse("2026-01-02T03:04:05.123456Z"));
        assertThat(job.getUpdatedAt()).isEqualTo(job.getCreatedAt());
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
