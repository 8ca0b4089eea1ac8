package io.easycontext.service.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.BDDMockito.given;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.verifyNoInteractions;

import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;

import io.easycontext.service.job.spec.JobSpec;
import io.easycontext.runtime.parallel.ParallelMode;
import io.easycontext.service.job.spec.TrainSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.mockito.ArgumentCaptor;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.webmvc.test.autoconfigure.WebMvcTest;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.test.context.bean.override.mockito.MockitoBean;
import org.springframework.test.web.servlet.assertj.MockMvcTester;
import org.springframework.test.web.servlet.assertj.MvcTestResult;

@WebMvcTest(JobController.class)
class JobControllerTest {

    private static final UUID ID = UUID.fromString("6f1c2a52-3c1e-4d0b-9a57-8b7c1e0f2d44");
    private static final Instant CREATED = Instant.parse("2026-01-02T03:04:05.123456Z");

    @Autowired
    private MockMvcTester mvc;

    @MockitoBean
    private JobService jobs;

    @Test
    void submitReturns201WithLocationAndTheQueuedJob() {
        given(jobs.submit(any())).willReturn(Job.queued(ID, JobKind.TRAIN, 5, 0,
                "{\"model\":\"tiny\",\"seqLength\":64}", CREATED));

        MvcTestResult result = post("""
                {"kind": "TRAIN", "priority": 5,
                 "train": {"model": "tiny", "seqLength": 64, "maxTrainSteps": 2, "parallelMode": "ulysses_attn"}}
                """);

        assertThat(result).hasStatus(HttpStatus.CREATED)
                .hasHeader("Location", "/api/jobs/" + ID)
                .hasContentType(MediaType.APPLICATION_JSON);
        assertThat(result).bodyJson().isStrictlyEqualTo("""
                {"id": "6f1c2a52-3c1e-4d0b-9a57-8b7c1e0f2d44", "kind": "TRAIN", "state": "QUEUED",
                 "reason": null, "message": null, "priority": 5, "gpus": 0,
                 "spec": {"model": "tiny", "seqLength": 64},
                 "createdAt": "2026-01-02T03:04:05.123456Z", "updatedAt": "2026-01-02T03:04:05.123456Z"}
                """);
    }

    @Test
    void submitFillsInTheDefaultsBeforeTheServiceSeesTheSpec() {
        given(jobs.submit(any())).willReturn(Job.queued(ID, JobKind.TRAIN, 0, 0, "{}", CREATED));

        post("""
                {"kind": "TRAIN", "train": {"model": "tiny", "seqLength": 64, "maxTrainSteps": 2}}
                """);

        ArgumentCaptor<JobSpec> submitted = ArgumentCaptor.forClass(JobSpec.class);
        verify(jobs).submit(submitted.capture());
        assertThat(submitted.getValue().priority()).isZero();
        assertThat(submitted.getValue().gpus()).isZero();
        assertThat(submitted.getValue().spec()).isEqualTo(new TrainSpec("tiny", ParallelMode.ZIGZAG_RING_ATTN, 64,
                null, 1, 1, 2e-5, 2, 0L, null, null, null));
    }

    static Stream<Arguments> invalidSpecs() {
        return Stream.of(
                invalid("kind missing", """
                        {"train": {"model": "tiny", "seqLength": 64, "maxTrainSteps": 2}}""",
                        "kind", "must not be null"),
                invalid("unknown kind", """
                        {"kind": "FINETUNE"}""",
                        "kind", "must be one of [TRAIN, EVAL_NEEDLE, EVAL_PERPLEXITY]"),
                invalid("section of the kind missing", """
                        {"kind": "TRAIN"}""",
                        "train", "must be given for kind TRAIN"),
                invalid("section of another kind", """
                        {"kind": "TRAIN", "train": {"model": "tiny", "seqLength": 64, "maxTrainSteps": 2},
                         "evalPerplexity": {"model": "tiny", "minTokens": 8, "maxTokens": 16, "tokensStep": 8}}""",
                        "evalPerplexity", "must be left out for kind TRAIN"),
                invalid("required field missing", """
                        {"kind": "TRAIN", "train": {"model": "tiny", "maxTrainSteps": 2}}""",
                        "train.seqLength", "must not be null"),
                invalid("number below its minimum", """
                        {"kind": "TRAIN", "train": {"model": "tiny", "seqLength": 1, "maxTrainSteps": 2}}""",
                        "train.seqLength", "must be greater than or equal to 2"),
                invalid("blank model", """
                        {"kind": "TRAIN", "train": {"model": " ", "seqLength": 64, "maxTrainSteps": 2}}""",
                        "train.model", "must not be blank"),
                invalid("negative gpus", """
                        {"kind": "TRAIN", "gpus": -1, "train": {"model": "tiny", "seqLength": 64, "maxTrainSteps": 2}}""",
                        "gpus", "must be greater than or equal to 0"),
                invalid("needle context range reversed", """
                        {"kind": "EVAL_NEEDLE", "evalNeedle": {"model": "tiny", "minContextLength": 8000,
                         "maxContextLength": 4000, "contextInterval": 1000}}""",
                        "evalNeedle.maxContextLength", "must be greater than or equal to minContextLength"),
                invalid("perplexity token range reversed", """
                        {"kind": "EVAL_PERPLEXITY", "evalPerplexity": {"model": "tiny", "minTokens": 16,
                         "maxTokens": 8, "tokensStep": 8}}""",
                        "evalPerplexity.maxTokens", "must be greater than or equal to minTokens"),
                invalid("misspelt field", """
                        {"kind": "TRAIN", "train": {"model": "tiny", "seqLen": 64, "maxTrainSteps": 2}}""",
                        "train.seqLen", "unknown property; known properties are [batchSize, dpDegree, "
                                + "gradientAccumulateEvery, learningRate, maxTrainSteps, model, parallelMode, "
                                + "ringDegree, ropeTheta, seed, seqLength, ulyssesDegree]"),
                invalid("unknown top-level field", """
                        {"kind": "TRAIN", "gpu": 1}""",
                        "gpu", "unknown property; known properties are [evalNeedle, evalPerplexity, gpus, kind, "
                                + "priority, train]"),
                invalid("unknown parallel mode", """
                        {"kind": "TRAIN", "train": {"model": "tiny", "parallelMode": "ring"}}""",
                        "train.parallelMode", "must be one of [data_parallel, ring_attn, zigzag_ring_attn, "
                                + "ulysses_attn, dist_flash_attn, usp_attn]"),
                invalid("index for an enum name", """
                        {"kind": 0}""",
                        "kind", "must be one of [TRAIN, EVAL_NEEDLE, EVAL_PERPLEXITY]"),
                invalid("number as a string", """
                        {"kind": "TRAIN", "train": {"model": "tiny", "seqLength": "64"}}""",
                        "train.seqLength", "must be an integer"),
                invalid("fraction for an integer", """
                        {"kind": "TRAIN", "train": {"model": "tiny", "seqLength": 64.5}}""",
                        "train.seqLength", "must be an integer"),
                invalid("integer too large", """
                        {"kind": "TRAIN", "train": {"model": "tiny", "seqLength": 99999999999}}""",
                        "train.seqLength", "is out of range for an integer"),
                invalid("string for a boolean", """
                        {"kind": "EVAL_PERPLEXITY", "evalPerplexity": {"model": "tiny", "truncate": "yes"}}""",
                        "evalPerplexity.truncate", "must be true or false"),
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
        MvcTestResult result = post(body);

        assertThat(result).hasStatus(HttpStatus.BAD_REQUEST).hasContentType(MediaType.APPLICATION_PROBLEM_JSON);
        assertThat(result).bodyJson().extractingPath("$.detail").asString().contains(field + ": " + message);
        assertThat(result).bodyJson().extractingPath("$.errors[?(@.field == '" + field + "')].message")
                .asArray().containsExactly(message);
        verifyNoInteractions(jobs);
    }

    @Test
    void submitReportsWhereJsonIsMalformed() {
        MvcTestResult result = post("""
                {"kind": "TRAIN",
                 "train": {"model": "tiny",}}
                """);

        assertThat(result).hasStatus(HttpStatus.BAD_REQUEST).hasContentType(MediaType.APPLICATION_PROBLEM_JSON);
        assertThat(result).bodyJson().extractingPath("$.detail").asString()
                .startsWith("Malformed JSON at line 2, column 28: Unexpected character ('}'");
        verifyNoInteractions(jobs);
    }

    @Test
    void submitRejectsAMissingBody() {
        MvcTestResult result = mvc.post().uri("/api/jobs").contentType(MediaType.APPLICATION_JSON).exchange();

        assertThat(result).hasStatus(HttpStatus.BAD_REQUEST).hasContentType(MediaType.APPLICATION_PROBLEM_JSON);
        assertThat(result).bodyJson().extractingPath("$.detail").isEqualTo("Request body is missing or unreadable");
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
    void listAsksForTheDefaultLimitAndShowsJobsInTheServicesOrder() {
        UUID older = UUID.fromString("00000000-0000-0000-0000-000000000001");
        given(jobs.newest(100)).willReturn(List.of(
                Job.queued(ID, JobKind.EVAL_NEEDLE, 0, 1, "{}", CREATED.plusSeconds(1)),
                Job.queued(older, JobKind.TRAIN, 0, 0, "{}", CREATED)));

        assertThat(mvc.get().uri("/api/jobs")).hasStatusOk()
                .bodyJson().extractingPath("$[*].id").asArray().containsExactly(ID.toString(), older.toString());
    }

    @Test
    void listRejectsALimitAbove500() {
        MvcTestResult result = mvc.get().uri("/api/jobs?limit=501").exchange();

        assertThat(result).hasStatus(HttpStatus.BAD_REQUEST).hasContentType(MediaType.APPLICATION_PROBLEM_JSON);
        assertThat(result).bodyJson().extractingPath("$.detail").isEqualTo("limit: must be less than or equal to 500");
        assertThat(result).bodyJson().extractingPath("$.errors[*].field").asArray().containsExactly("limit");
        verifyNoInteractions(jobs);
    }

    private MvcTestResult post(String body) {
        return mvc.post().uri("/api/jobs").contentType(MediaType.APPLICATION_JSON).content(body).exchange();
    }
}
