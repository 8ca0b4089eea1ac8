package io.easycontext.service.log;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.anyInt;
import static org.mockito.ArgumentMatchers.anyLong;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.BDDMockito.given;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;

import io.easycontext.service.job.Job;
import io.easycontext.service.job.JobKind;
import io.easycontext.service.job.JobNotFoundException;
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
import org.springframework.test.util.ReflectionTestUtils;
import org.springframework.test.web.servlet.assertj.MockMvcTester;
import org.springframework.test.web.servlet.assertj.MvcTestResult;

@WebMvcTest(JobLogController.class)
@Import({ApiSecurityTestConfiguration.class, JobLogTailer.class, JobStreams.class})
@TestPropertySource(properties = TestTokens.ADMIN_PROPERTY)
class JobLogControllerTest {

    private static final Instant T0 = Instant.parse("2026-01-02T03:04:05Z");

    @TempDir
    static Path dataDir;

    @DynamicPropertySource
    static void useTheTemporaryDataDir(DynamicPropertyRegistry registry) {
        registry.add("easycontext.data-dir", () -> dataDir.toString());
    }

    @Autowired
    private MockMvcTester mvc;

    @MockitoBean
    private JobService jobs;

    @MockitoBean
    private JobLog log;

    private UUID id;
    /** The job's log as the database holds it; the runner's appends happen in the job reads' answers. */
    private final List<JobLogLine> written = new CopyOnWriteArrayList<>();

    @BeforeEach
    void aJobWithAnEmptyLog() {
        id = UUID.randomUUID();
        given(log.after(eq(id), anyLong(), anyInt())).willAnswer(call -> {
            long afterId = call.getArgument(1);
            int limit = call.getArgument(2);
            return written.stream().filter(line -> line.getId() > afterId).limit(limit).toList();
        });
    }

    @Test
    void aFinishedJobReplaysEveryLineWithItsIdAndTheEnd() {
        given(jobs.get(id)).willReturn(job(JobState.SUCCEEDED));
        write("queued", "started", "done");

        List<ServerSentEvent> events = stream(null, null);

        assertThat(events).extracting(ServerSentEvent::name).containsExactly("message", "message", "message", "end");
        assertThat(events).extracting(ServerSentEvent::id).containsExactly("1", "2", "3", null);
        assertThat(events).extracting(ServerSentEvent::data).containsExactly("queued", "started", "done", "SUCCEEDED");
    }

    @Test
    void lastEventIdOrAfterResumesAfterThatLine() {
        given(jobs.get(id)).willReturn(job(JobState.FAILED));
        write("queued", "started", "failed");

        assertThat(stream("2", null)).extracting(ServerSentEvent::data).containsExactly("failed", "FAILED");
        assertThat(stream(null, "1")).extracting(ServerSentEvent::data).containsExactly("started", "failed", "FAILED");
    }

    @Test
    void aRunningJobStreamsEachLineOnceAsItIsWrittenAndTheLinesWrittenAfterItsEnd() {
        AtomicInteger reads = new AtomicInteger();
        // The stream reads the job once to answer a 404 before it starts, then each poll reads it before the lines:
        // the answers stand for what the runner did between two polls.
        given(jobs.get(id)).willAnswer(call -> switch (reads.incrementAndGet()) {
            case 1, 2 -> job(JobState.RUNNING);
            case 3 -> {
                write("step 1");
                yield job(JobState.RUNNING);
            }
            case 4 -> {
                write("step 2");
                yield job(JobState.SUCCEEDED);
            }
            case 5 -> {
                write("succeeded");
                yield job(JobState.SUCCEEDED);
            }
            default -> job(JobState.SUCCEEDED);
        });

        List<ServerSentEvent> events = stream(null, null);

        assertThat(events).extracting(ServerSentEvent::data)
                .containsExactly("step 1", "step 2", "succeeded", "SUCCEEDED");
    }

    @Test
    void aLogLongerThanOneReadIsStreamedWholeBeforeTheEnd() {
        given(jobs.get(id)).willReturn(job(JobState.SUCCEEDED));
        write(IntStream.rangeClosed(1, 1200).mapToObj(n -> "line " + n).toArray(String[]::new));

        List<ServerSentEvent> events = stream(null, null);

        assertThat(events).hasSize(1201);
        assertThat(events.get(1199).data()).isEqualTo("line 1200");
        assertThat(events.get(1200).name()).isEqualTo("end");
    }

    @Test
    void anUnknownJobIs404BeforeAnyStream() {
        given(jobs.get(id)).willThrow(new JobNotFoundException(id));

        MvcTestResult result = mvc.get().uri("/api/jobs/{id}/logs", id).accept(MediaType.TEXT_EVENT_STREAM)
                .exchange();

        assertThat(result).hasStatus(HttpStatus.NOT_FOUND).hasContentType(MediaType.APPLICATION_PROBLEM_JSON);
    }

    private List<ServerSentEvent> stream(String lastEventId, String after) {
        var request = mvc.get().uri("/api/jobs/{id}/logs", id).accept(MediaType.TEXT_EVENT_STREAM);
        if (lastEventId != null) {
            request = request.header("Last-Event-ID", lastEventId);
        }
        if (after != null) {
            request = request.param("after", after);
        }
        return ServerSentEvent.in(request.exchange(Duration.ofSeconds(10)));
    }

    private Job job(JobState state) {
        Job job = Job.queued(id, JobKind.EVAL_NEEDLE, 0, 0, "{\"model\":\"small\"}", T0);
        job.start(List.of(), T0);
        job.run(T0.plusSeconds(1));
        if (state.isTerminal()) {
            job.finish(state, state == JobState.SUCCEEDED ? JobReason.COMPLETED : JobReason.INTERNAL, "done",
                    T0.plusSeconds(100));
        }
        return job;
    }

    /** Appends lines with the ids the database would draw: 1, 2, ... */
    private void write(String... lines) {
        for (String text : lines) {
            JobLogLine line = new JobLogLine(id, T0, text);
            ReflectionTestUtils.setField(line, "id", (long) written.size() + 1);
            written.add(line);
        }
    }
}
