package io.easycontext.service.job;

import static io.easycontext.service.security.TestTokens.ADMIN;
import static io.easycontext.service.security.TestTokens.READER;
import static io.easycontext.service.security.TestTokens.bearer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.ArgumentMatchers.isNull;
import static org.mockito.BDDMockito.given;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.verifyNoInteractions;

import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;

import io.easycontext.runtime.parallel.ParallelMode;
import io.easycontext.runtime.spec.TrainSpec;
import io.easycontext.runtime.spec.Violation;
import io.easycontext.service.job.spec.JobSpec;
import io.easycontext.service.security.ApiSecurityTestConfiguration;
import io.easycontext.service.security.TestTokens;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.mockito.ArgumentCaptor;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.webmvc.test.autoconfigure.WebMvcTest;
import org.springframework.context.annotation.Import;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.test.context.TestPropertySource;
import org.springframework.test.context.bean.override.mockito.MockitoBean;
import org.springframework.test.web.servlet.assertj.MockMvcTester;
import org.springframework.test.web.servlet.assertj.MvcTestResult;

@WebMvcTest(JobController.class)
@Import(ApiSecurityTestConfiguration.class)
@TestPropertySource(properties = {TestTokens.ADMIN_PROPERTY, TestTokens.READER_PROPERTY,
        "easycontext.data-dir=target/slice-test-data"})
class JobControllerTest {

    private static final UUID ID = UUID.fromString("6f1c2a52-3c1e-4d0b-9a57-8b7c1e0f2d44");
    private static final Instant CREATED = Instant.parse("2026-01-02T03:04:05.123456Z");
    private static final String MINIMAL = """
            {"kind": "TRAIN", "train": {"model": "tiny", "seqLength": 64, "maxTrainSteps": 2}}""";

    @Autowired
    private MockMvcTester mvc;

    @MockitoBean
    private JobService jobs;

    private static Job queued() {
        return Job.queued(ID, JobKind.TRAIN, 5, 0, "{\"model\":\"tiny\",\"seqLength\":64}",
                List.of("java -jar gpu-runtime/target/gpu-runtime.jar train --model tiny"), null, CREATED);
    }

    @Test
    void submitReturns201WithLocationAndTheQueuedJob() {
        given(jobs.submit(any(), isNull())).willReturn(new JobService.Submission(queued(), true));

        MvcTestResult result = post(ADMIN, """
                {"kind": "TRAIN", "priority": 5,
                 "train": {"model": "tiny", "seqLength": 64, "maxTrainSteps": 2, "parallelMode": "ulysses_attn"}}
                """);

        assertThat(result).hasStatus(HttpStatus.CREATED)
                .hasHeader("Location", "/api/jobs/" + ID)
                .hasContentType(MediaType.APPLICATION_JSON);
        assertThat(result).bodyJson().isStrictlyEqualTo("""
                {"id": "6f1c2a52-3c1e-4d0b-9a57-8b7c1e0f2d44", "kind": "TRAIN", "state": "QUEUED",
                 "reason": null, "message": null, "priority": 5, "gpus": 0, "gpuIds": [], "attempt": 0,
                 "spec": {"model": "tiny", "seqLength": 64},
                 "commandLines": ["java -jar gpu-runtime/target/gpu-runtime.jar train --model tiny"],
                 "progress": null,
                 "createdAt": "2026-01-02T03:04:05.123456Z", "updatedAt": "2026-01-02T03:04:05.123456Z",
                 "startedAt": null, "finishedAt": null}
                """);
    }

    @Test
    void submitFillsInTheDefaultsBeforeTheServiceSeesTheSpec() {
        given(jobs.submit(any(), isNull())).willReturn(new JobService.Submission(queued(), true));

        post(ADMIN, MINIMAL);

        ArgumentCaptor<JobSpec> submitted = ArgumentCaptor.forClass(JobSpec.class);
        verify(jobs).submit(submitted.capture(), isNull());
        assertThat(submitted.getValue().priority()).isZero();
        assertThat(submitted.getValue().gpus()).isZero();
        assertThat(submitted.getValue().spec()).isEqualTo(TrainSpec.builder().model("tiny").seqLength(64)
                .maxTrainSteps(2).parallelMode(ParallelMode.DATA_PARALLEL).build());
    }

    @Test
    void aRepeatedIdempotencyKeyAnswers200WithTheJobItCreated() {
        given(jobs.submit(any(), eq("retry-1"))).willReturn(new JobService.Submission(queued(), false));

        MvcTestResult result = mvc.post().uri("/api/jobs").header(HttpHeaders.AUTHORIZATION, bearer(ADMIN))
                .header("Idempotency-Key", "retry-1").contentType(MediaType.APPLICATION_JSON).content(MINIMAL)
                .exchange();

        assertThat(result).hasStatusOk().hasHeader("Location", "/api/jobs/" + ID);
    }

    @Test
    void submitWithoutATokenIs401AndTouchesNothing() {
        MvcTestResult result = mvc.post().uri("/api/jobs").contentType(MediaType.APPLICATION_JSON).content(MINIMAL)
                .exchange();

        assertThat(result).hasStatus(HttpStatus.UNAUTHORIZED).hasContentType(MediaType.APPLICATION_PROBLEM_JSON)
                .hasHeader(HttpHeaders.WWW_AUTHENTICATE, "Bearer realm=\"easycontext\"");
        assertThat(result).bodyJson().extractingPath("$.status").isEqualTo(401);
        verifyNoInteractions(jobs);
    }

    @Test
    void submitWithAnUnknownTokenIs401InvalidToken() {
        MvcTestResult result = post("not-a-token-of-this-service", MINIMAL);

        assertThat(result).hasStatus(HttpStatus.UNAUTHORIZED)
                .hasHeader(HttpHeaders.WWW_AUTHENTICATE, "Bearer realm=\"easycontext\", error=\"invalid_token\"");
        verifyNoInteractions(jobs);
    }

    @Test
    void aReadOnlyTokenMayReadButNotSubmit() {
        given(jobs.get(ID)).willReturn(queued());

        assertThat(post(READER, MINIMAL)).hasStatus(HttpStatus.FORBIDDEN)
                .hasContentType(MediaType.APPLICATION_PROBLEM_JSON);
        assertThat(mvc.get().uri("/api/jobs/{id}", ID).header(HttpHeaders.AUTHORIZATION, bearer(READER)))
                .hasStatusOk();
        verify(jobs).get(ID);
    }

    @Test
    void readsNeedNoTokenByDefault() {
        given(jobs.get(ID)).willReturn(queued());

        assertThat(mvc.get().uri("/api/jobs/{id}", ID)).hasStatusOk();
    }

    static Stream<Arguments> invalidSpecs() {
        return Stream.of(
                invalid("no kind", """
                        {"train": {"model": "tiny", "seqLength": 64, "maxTrainSteps": 2}}""",
                        "kind", "must not be null"),
                invalid("section of another kind", """
                        {"kind": "EVAL_NEEDLE", "train": {"model": "tiny", "seqLength": 64, "maxTrainSteps": 2}}""",
                        "evalNeedle", "must be given for kind EVAL_NEEDLE"),
                invalid("blank model", """
                        {"kind": "TRAIN", "train": {"model": " "}}""",
                        "train.model", "must not be blank"),
                invalid("sequence of one token... of none", """
                        {"kind": "TRAIN", "train": {"seqLength": 0}}""",
                        "train.seqLength", "must be greater than or equal to 1"),
                invalid("indivisible sequence", """
                        {"kind": "TRAIN", "train": {"devices": "cpu:4", "parallelMode": "zigzag_ring_attn",
                         "seqLength": 30}}""",
                        "train.parallelMode",
                        "zigzag_ring_attn needs seq_length divisible by 2 × ring size (2×4=8): 30 is not"),
                invalid("bad stage", """
                        {"kind": "TRAIN", "train": {"stages": [{"seqLength": 64}, {"learningRate": -1}]}}""",
                        "train.stages[1].learningRate", "must be greater than or equal to 0"),
                invalid("autoMemory on the CPU backend", """
                        {"kind": "TRAIN", "train": {"devices": "cpu:2", "autoMemory": true}}""",
                        "train.autoMemory", "applies to GPU devices only: it chooses how GPU ranks hold their state, "
                                + "and devices cpu:2 has none"),
                invalid("negative gpus", """
                        {"kind": "TRAIN", "gpus": -1, "train": {}}""",
                        "gpus", "must be greater than or equal to 0"),
                invalid("reversed range", """
                        {"kind": "EVAL_PERPLEXITY",
                         "evalPerplexity": {"model": "small", "minTokens": 16, "maxTokens": 8, "tokensStep": 8}}""",
                        "evalPerplexity.maxTokens", "must be greater than or equal to minTokens"),
                // In a stage, whose few fields are those a stage may override, not every field a training has.
                invalid("unknown field", """
                        {"kind": "TRAIN", "train": {"model": "tiny", "stages": [{"seqLen": 64}]}}""",
                        "train.stages[0].seqLen", "unknown property; known properties are [checkpointEvery, dataset, "
                                + "learningRate, maxTrainSteps, parallelMode, ropeTheta, seqLength]"),
                invalid("unknown parallel mode", """
                        {"kind": "TRAIN", "train": {"model": "tiny", "parallelMode": "ring"}}""",
                        "train.parallelMode", "must be one of [data_parallel, ring_attn, zigzag_ring_attn, "
                                + "ulysses_attn, dist_flash_attn, usp_attn, auto]"),
                invalid("fraction for an integer", """
                        {"kind": "TRAIN", "train": {"model": "tiny", "seqLength": 64.5}}""",
                        "train.seqLength", "must be an integer"),
                invalid("array for an object", """
                        {"kind": "TRAIN", "train": [1]}""",
                        "train", "must be an object"));
    }

    private static Arguments invalid(String name, String body, String field, String message) {
        return Arguments.argumentSet(name, body, field, message);
    }

    @ParameterizedTest
    @MethodSource("invalidSpecs")
    void submitRejectsAnInvalidSpecWithAProblemNamingTheField(String body, String field, String message) {
        MvcTestResult result = post(ADMIN, body);

        assertThat(result).hasStatus(HttpStatus.BAD_REQUEST).hasContentType(MediaType.APPLICATION_PROBLEM_JSON);
        assertThat(result).bodyJson().extractingPath("$.detail").asString().contains(field + ": " + message);
        assertThat(result).bodyJson().extractingPath("$.errors[?(@.field == '" + field + "')].message")
                .asArray().containsExactly(message);
        verifyNoInteractions(jobs);
    }

    @Test
    void aSpecTheNodeCannotRunIsA400NamingTheField() {
        given(jobs.submit(any(), isNull())).willThrow(new JobRejectedException(
                List.of(new Violation("gpus", "must be less than or equal to 0, the GPUs of this node"))));

        MvcTestResult result = post(ADMIN, MINIMAL);

        assertThat(result).hasStatus(HttpStatus.BAD_REQUEST);
        assertThat(result).bodyJson().extractingPath("$.detail")
                .isEqualTo("gpus: must be less than or equal to 0, the GPUs of this node");
    }

    @Test
    void submitReportsWhereJsonIsMalformed() {
        MvcTestResult result = post(ADMIN, """
                {"kind": "TRAIN",
                 "train": {"model": "tiny",}}
                """);

        assertThat(result).hasStatus(HttpStatus.BAD_REQUEST).hasContentType(MediaType.APPLICATION_PROBLEM_JSON);
        assertThat(result).bodyJson().extractingPath("$.detail").asString()
                .startsWith("Malformed JSON at line 2, column 28: Unexpected character ('}'");
    }

    @Test
    void getOfAnUnknownIdIs404NamingTheId() {
        given(jobs.get(ID)).willThrow(new JobNotFoundException(ID));

        MvcTestResult result = mvc.get().uri("/api/jobs/{id}", ID).exchange();

        assertThat(result).hasStatus(HttpStatus.NOT_FOUND).hasContentType(MediaType.APPLICATION_PROBLEM_JSON);
        assertThat(result).bodyJson().isStrictlyEqualTo("""
                {"title": "Not Found", "status": 404,
                 "detail": "No job with id 6f1c2a52-3c1e-4d0b-9a57-8b7c1e0f2d44",
                 "instance": "/api/jobs/6f1c2a52-3c1e-4d0b-9a57-8b7c1e0f2d44",
                 "jobId": "6f1c2a52-3c1e-4d0b-9a57-8b7c1e0f2d44"}
                """);
    }

    @Test
    void listPassesFiltersAndCursorAndLinksTheNextPage() {
        JobCursor cursor = new JobCursor(CREATED, ID);
        given(jobs.list(new JobQuery(JobState.RUNNING, JobKind.TRAIN, cursor), 1))
                .willReturn(new JobService.Page(List.of(queued()), cursor));

        MvcTestResult result = mvc.get()
                .uri("/api/jobs?state=RUNNING&kind=TRAIN&limit=1&cursor={c}", cursor.encode()).exchange();

        assertThat(result).hasStatusOk();
        assertThat(result).bodyJson().extractingPath("$.jobs[*].id").asArray().containsExactly(ID.toString());
        assertThat(result).bodyJson().extractingPath("$.next").isEqualTo(cursor.encode());
    }

    @Test
    void listRejectsALimitAbove500AnUnknownStateAndAForeignCursor() {
        assertThat(mvc.get().uri("/api/jobs?limit=501")).hasStatus(HttpStatus.BAD_REQUEST)
                .bodyJson().extractingPath("$.detail").isEqualTo("limit: must be less than or equal to 500");
        assertThat(mvc.get().uri("/api/jobs?state=DONE")).hasStatus(HttpStatus.BAD_REQUEST)
                .bodyJson().extractingPath("$.detail").isEqualTo("state: must be one of [QUEUED, STARTING, "
                        + "RUNNING, CANCELLING, SUCCEEDED, FAILED, CANCELLED]");
        assertThat(mvc.get().uri("/api/jobs?cursor=bm9wZQ")).hasStatus(HttpStatus.BAD_REQUEST)
                .bodyJson().extractingPath("$.detail").isEqualTo("cursor: is not a valid value");
        verifyNoInteractions(jobs);
    }

    @Test
    void cancellingAFinishedJobIsA409() {
        given(jobs.cancel(ID)).willThrow(new IllegalJobTransitionException(ID, JobState.SUCCEEDED,
                JobState.CANCELLING));

        MvcTestResult result = mvc.post().uri("/api/jobs/{id}/cancel", ID)
                .header(HttpHeaders.AUTHORIZATION, bearer(ADMIN)).exchange();

        assertThat(result).hasStatus(HttpStatus.CONFLICT).hasContentType(MediaType.APPLICATION_PROBLEM_JSON);
        assertThat(result).bodyJson().extractingPath("$.state").isEqualTo("SUCCEEDED");
    }

    private MvcTestResult post(String token, String body) {
        return mvc.post().uri("/api/jobs").header(HttpHeaders.AUTHORIZATION, bearer(token))
                .contentType(MediaType.APPLICATION_JSON).content(body).exchange();
    }
}
