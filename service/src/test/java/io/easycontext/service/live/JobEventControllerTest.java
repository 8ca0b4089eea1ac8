package io.easycontext.service.live;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.BDDMockito.given;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;

import io.easycontext.service.artifact.ArtifactStore;
import io.easycontext.service.job.Job;
import io.easycontext.service.job.JobKind;
import io.easycontext.service.job.JobNotFoundException;
import io.easycontext.service.job.JobProgress;
import io.easycontext.service.job.JobReason;
import io.easycontext.service.job.JobService;
import io.easycontext.service.job.JobState;
import io.easycontext.service.security.ApiSecurityTestConfiguration;
import io.easycontext.service.security.TestTokens;
import io.easycontext.service.testsupport.ServerSentEvent;
import io.easycontext.service.web.JobStreams;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.webmvc.test.autoconfigure.WebMvcTest;
import org.springframework.context.annotation.Import;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.context.TestPropertySource;
import org.springframework.test.context.bean.override.mockito.MockitoBean;
import org.springframework.test.web.servlet.assertj.MockMvcTester;
import org.springframework.test.web.servlet.assertj.MvcTestResult;
import tools.jackson.databind.JsonNode;

@WebMvcTest(JobEventController.class)
@Import({ApiSecurityTestConfiguration.class, JobEventTailer.class, JobStreams.class, ArtifactStore.class})
@TestPropertySource(properties = TestTokens.ADMIN_PROPERTY)
class JobEventControllerTest {

    private static final Instant T0 = Instant.parse("2026-01-02T03:04:05Z");
    /** Two stages of two steps each: the second stage's steps are 3 and 4 over the training. */
    private static final String TWO_STAGES = """
            {"model":"tiny","seqLength":32,"maxTrainSteps":2,"stages":[{},{"seqLength":64}]}""";
    private static final String ONE_STAGE = """
            {"model":"tiny","seqLength":32,"maxTrainSteps":4}""";

    @TempDir
    static Path dataDir;

    @DynamicPropertySource
    static void useTheTemporaryDataDir(DynamicPropertyRegistry registry) {
        registry.add("easycontext.data-dir", () -> dataDir.toString());
    }

    @Autowired
    private MockMvcTester mvc;

    @Autowired
    private ArtifactStore artifacts;

    @MockitoBean
    private JobService jobs;

    private UUID id;

    @BeforeEach
    void newJobId() {
        id = UUID.randomUUID();
    }

    @Test
    void aFinishedTrainingReplaysTheJobEveryStepNumberedOverItsStagesAndTheEnd() throws IOException {
        given(jobs.get(id)).willReturn(job(JobKind.TRAIN, TWO_STAGES, JobState.SUCCEEDED, 4));
        writeSteps(0, 1, 2);
        writeSteps(1, 1, 2);

        List<ServerSentEvent> events = stream(null);

        assertThat(events).extracting(ServerSentEvent::name)
                .containsExactly("job", "step", "step", "step", "step", "end");
        assertThat(events.get(0).json().get("state").asString()).isEqualTo("SUCCEEDED");
        assertThat(events.get(0).json().get("progress").get("step").asLong()).isEqualTo(4);
        assertThat(events.subList(1, 5)).extracting(ServerSentEvent::id).containsExactly("1", "2", "3", "4");
        JsonNode third = events.get(3).json();
        assertThat(third.get("step").asLong()).isEqualTo(3);
        assertThat(third.get("stage").asInt()).isEqualTo(1);
        assertThat(third.get("stageStep").asLong()).isEqualTo(1);
        assertThat(third.get("loss").asDouble()).isEqualTo(lossOf(1, 1));
        assertThat(third.get("gradNorm").asDouble()).isEqualTo(0.5);
        assertThat(third.get("lr").asDouble()).isEqualTo(1e-3);
        assertThat(third.get("tokens").asLong()).isEqualTo(64);
        assertThat(third.get("tokensPerSecond").asDouble()).isEqualTo(1000.0);
        assertThat(events.get(5).data()).isEqualTo("SUCCEEDED");
    }

    @Test
    void lastEventIdResumesAfterThatStepEvenInALaterStage() throws IOException {
        given(jobs.get(id)).willReturn(job(JobKind.TRAIN, TWO_STAGES, JobState.SUCCEEDED, 4));
        writeSteps(0, 1, 2);
        writeSteps(1, 1, 2);

        List<ServerSentEvent> events = stream("3");

        assertThat(events).extracting(ServerSentEvent::name).containsExactly("job", "step", "end");
        assertThat(events.get(1).id()).isEqualTo("4");
        assertThat(events.get(1).json().get("stageStep").asLong()).isEqualTo(2);
    }

    @Test
    void aRunningTrainingStreamsEachStepOnceAsItsLineIsCompletedAndTheJobAsItChanges() {
        AtomicInteger reads = new AtomicInteger();
        // The stream reads the job once to answer a 404 before it starts, then each poll reads it before the steps:
        // the answers stand for what the runner did between two polls.
        given(jobs.get(id)).willAnswer(call -> switch (reads.incrementAndGet()) {
            case 1, 2 -> jobAfterSteps(JobState.RUNNING, 0, "");
            case 3 -> jobAfterSteps(JobState.RUNNING, 1, line(0, 1) + "\n");
            case 4 -> jobAfterSteps(JobState.RUNNING, 1, line(0, 2) + "\n" + line(0, 3).substring(0, 10));
            case 5 -> jobAfterSteps(JobState.RUNNING, 3, line(0, 3).substring(10) + "\n");
            default -> job(JobKind.TRAIN, ONE_STAGE, JobState.SUCCEEDED, 3);
        });

        List<ServerSentEvent> events = stream(null);

        assertThat(events).extracting(ServerSentEvent::name)
                .containsExactly("job", "job", "step", "step", "job", "step", "job", "end");
        assertThat(events).filteredOn(e -> e.name().equals("step")).extracting(ServerSentEvent::id)
                .containsExactly("1", "2", "3");
        assertThat(events).filteredOn(e -> e.name().equals("job"))
                .extracting(e -> e.json().get("state").asString())
                .containsExactly("RUNNING", "RUNNING", "RUNNING", "SUCCEEDED");
        assertThat(events.get(4).json().get("progress").get("step").asLong()).isEqualTo(3);
    }

    @Test
    void aStageFileThatARestartReplacedIsReadAgainWithoutRepeatingSteps() {
        AtomicInteger reads = new AtomicInteger();
        // The restart resumes from the checkpoint after step 2: the file is replaced by its first two lines, and
        // steps 3 and 4 are computed again, with the same values.
        given(jobs.get(id)).willAnswer(call -> switch (reads.incrementAndGet()) {
            case 1 -> jobAfterSteps(JobState.RUNNING, 0, "");
            case 2 -> jobAfterSteps(JobState.RUNNING, 3, lines(0, 1, 2, 3));
            case 3 -> {
                replaceSteps(0, 1, 2);
                yield jobAfterSteps(JobState.RUNNING, 3, "");
            }
            case 4 -> jobAfterSteps(JobState.RUNNING, 4, lines(0, 3, 4));
            default -> job(JobKind.TRAIN, ONE_STAGE, JobState.SUCCEEDED, 4);
        });

        List<ServerSentEvent> events = stream(null);

        assertThat(events).filteredOn(e -> e.name().equals("step")).extracting(ServerSentEvent::id)
                .containsExactly("1", "2", "3", "4");
        assertThat(events.get(events.size() - 1).name()).isEqualTo("end");
    }

    @Test
    void anEvaluationStreamsTheJobAndTheEndButNoSteps() {
        given(jobs.get(id)).willReturn(job(JobKind.EVAL_NEEDLE, "{\"model\":\"small\"}", JobState.FAILED, 0));

        List<ServerSentEvent> events = stream(null);

        assertThat(events).extracting(ServerSentEvent::name).containsExactly("job", "end");
        assertThat(events.get(0).json().get("kind").asString()).isEqualTo("EVAL_NEEDLE");
        assertThat(events.get(1).data()).isEqualTo("FAILED");
    }

    @Test
    void anUnknownJobIs404BeforeAnyStream() {
        given(jobs.get(id)).willThrow(new JobNotFoundException(id));

        MvcTestResult result = mvc.get().uri("/api/jobs/{id}/events", id).accept(MediaType.TEXT_EVENT_STREAM)
                .exchange();

        assertThat(result).hasStatus(HttpStatus.NOT_FOUND).hasContentType(MediaType.APPLICATION_PROBLEM_JSON);
    }

    private List<ServerSentEvent> stream(String lastEventId) {
        var request = mvc.get().uri("/api/jobs/{id}/events", id).accept(MediaType.TEXT_EVENT_STREAM);
        if (lastEventId != null) {
            request = request.header("Last-Event-ID", lastEventId);
        }
        return ServerSentEvent.in(request.exchange(Duration.ofSeconds(10)));
    }

    /** A job in this state; {@code steps} of progress, as the runner records it. */
    private Job job(JobKind kind, String spec, JobState state, long steps) {
        Job job = Job.queued(id, kind, 0, 0, spec, List.of("java -jar gpu-runtime.jar ..."), null, T0);
        job.start(List.of(), T0);
        job.run(T0.plusSeconds(1));
        if (steps > 0) {
            job.recordProgress(new JobProgress(steps, 4L, "steps", 0, 1, steps, 4L, 32 * steps, 1.0, 1000.0, null,
                    1L << 20, null), T0.plusSeconds(1 + steps));
        }
        if (state.isTerminal()) {
            job.finish(state, state == JobState.SUCCEEDED ? JobReason.COMPLETED : JobReason.INTERNAL, "done",
                    T0.plusSeconds(100));
        }
        return job;
    }

    /** The one-stage training after the runner appended {@code written} to stage 0's file. */
    private Job jobAfterSteps(JobState state, long steps, String written) {
        append(0, written);
        return job(JobKind.TRAIN, ONE_STAGE, state, steps);
    }

    private void writeSteps(int stage, int... steps) throws IOException {
        Path file = metricsFile(stage);
        Files.createDirectories(file.getParent());
        Files.writeString(file, lines(stage, steps));
    }

    /** As a restart's MetricsFile.resume does it: a new file moved over the old one. */
    private void replaceSteps(int stage, int... steps) {
        try {
            Path copy = metricsFile(stage).resolveSibling(".replacement");
            Files.writeString(copy, lines(stage, steps));
            Files.move(copy, metricsFile(stage), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private void append(int stage, String text) {
        try {
            Path file = metricsFile(stage);
            Files.createDirectories(file.getParent());
            Files.writeString(file, text, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private Path metricsFile(int stage) {
        return artifacts.locationOf(id).resolve("metrics").resolve("stage-" + stage + ".jsonl");
    }

    private static String lines(int stage, int... steps) {
        IntFunction<String> line = step -> line(stage, step) + "\n";
        return String.join("", Arrays.stream(steps).mapToObj(line).toList());
    }

    /** A line as StepMetrics.toJson writes it. */
    private static String line(int stage, int step) {
        return "{\"step\":" + step + ",\"loss\":" + lossOf(stage, step) + ",\"grad_norm\":0.5,\"lr\":0.001,"
                + "\"tokens\":" + (stage == 0 ? 32 : 64) + ",\"tokens_per_s\":1000.0}";
    }

    private static double lossOf(int stage, int step) {
        return 5.0 - stage - step / 10.0;
    }
}
