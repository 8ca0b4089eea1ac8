package io.easycontext.service;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import io.easycontext.service.testsupport.CommandLineRun;
import io.easycontext.service.testsupport.ServiceClient;
import io.easycontext.service.testsupport.ServiceOverHttp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import tools.jackson.databind.JsonNode;

/**
 * The whole service over HTTP, running real tiny trainings on the CPU backend: submit, watch, read the log and the
 * artifacts, cancel, and the metrics they leave. One CPU slot, so the jobs of this class run one after another.
 */
class TrainingJobsTest extends ServiceOverHttp {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    @Test
    void aTwoStageTrainingSucceedsWithCheckpointsAndItsFirstStageIsWhatItsCommandLineDoes(@TempDir Path cli) {
        String id = client.submitted("""
                {"kind": "TRAIN", "train": {"model": "tiny", "seqLength": 64, "maxTrainSteps": 4, "seed": 7,
                  "learningRate": 1e-3, "checkpointEvery": 2,
                  "stages": [{}, {"seqLength": 128, "ropeTheta": 100000, "maxTrainSteps": 3}]}}
                """);

        JsonNode job = client.awaitState(id, TIMEOUT, "SUCCEEDED", "FAILED");

        assertThat(job.get("state").asString()).as(job.toString()).isEqualTo("SUCCEEDED");
        assertThat(job.get("reason").asString()).isEqualTo("COMPLETED");
        assertThat(job.get("message").asString()).startsWith("7 steps in 2 stage(s), 640 tokens; final loss ");
        assertThat(job.get("attempt").asInt()).isEqualTo(1);
        JsonNode progress = job.get("progress");
        assertThat(progress.get("stage").asInt()).isEqualTo(1);
        assertThat(progress.get("step").asLong()).isEqualTo(7);
        assertThat(progress.get("totalSteps").asLong()).isEqualTo(7);
        assertThat(progress.get("tokens").asLong()).isEqualTo(4 * 64 + 3 * 128);
        assertThat(progress.get("loss").asDouble()).isPositive();
        assertThat(progress.get("tokensPerSecond").asDouble()).isPositive();
        assertThat(progress.get("mfu").isNull()).isTrue();
        assertThat(progress.get("peakMemoryBytes").asLong()).isPositive();
        assertThat(progress.get("done").asLong()).isEqualTo(7);
        assertThat(progress.get("total").asLong()).isEqualTo(7);
        assertThat(progress.get("unit").asString()).isEqualTo("steps");

        // Each stage checkpoints as its command line's --output-dir, the newest two kept, and ends with its model.
        String artifacts = listing(id);
        assertThat(artifacts).contains("\"name\":\"metrics/stage-0.jsonl\"", "\"name\":\"metrics/stage-1.jsonl\"",
                "\"name\":\"checkpoints/stage-0/checkpoint-0000002/trainer_state.json\"",
                "\"name\":\"checkpoints/stage-0/checkpoint-0000004/optimizer/rank-00000.safetensors\"",
                "\"name\":\"checkpoints/stage-1/checkpoint-0000003/model/model.safetensors\"",
                "\"name\":\"checkpoints/stage-1/config.json\"", "\"name\":\"checkpoints/stage-1/model.safetensors\"")
                .doesNotContain(".tmp");
        assertThat(ServiceClient.json(downloadText(id, "checkpoints/stage-0/checkpoint-0000002/trainer_state.json"))
                .get("step").asInt()).isEqualTo(2);

        String stage0 = downloadText(id, "metrics/stage-0.jsonl");
        String commandLine = job.get("commandLines").get(0).asString();
        assertThat(commandLine).endsWith("--checkpoint-every 2 --output-dir checkpoints/stage-0");
        assertThat(withoutThroughput(stage0)).isEqualTo(withoutThroughput(CommandLineRun.in(cli, commandLine)));
        assertThat(download(id, "checkpoints/stage-0/model.safetensors"))
                .isEqualTo(readBytes(cli.resolve("checkpoints/stage-0/model.safetensors")));
        assertThat(downloadText(id, "metrics/stage-1.jsonl").lines()).hasSize(3);
    }

    @Test
    void theLogStreamsAsServerSentEventsWithEveryEarlierLineAndEndsWithTheState() {
        String id = client.submitted("""
                {"kind": "TRAIN", "train": {"model": "tiny", "seqLength": 32, "maxTrainSteps": 2}}""");
        client.awaitState(id, TIMEOUT, "SUCCEEDED");

        // Server-Sent Events are UTF-8 by definition, whatever the Content-Type says.
        ResponseEntity<byte[]> stream = client.http().get().uri("/api/jobs/{id}/logs", id)
                .accept(MediaType.TEXT_EVENT_STREAM).retrieve().toEntity(byte[].class);
        String events = new String(stream.getBody(), StandardCharsets.UTF_8);

        assertThat(stream.getHeaders().getContentType().isCompatibleWith(MediaType.TEXT_EVENT_STREAM)).isTrue();
        assertThat(events).contains("data:queued: TRAIN, priority 0, CPU backend",
                "data:attempt 1 started on the CPU backend", "data:stage 1/1 step 2/2",
                "data:SUCCEEDED (COMPLETED): 2 steps in 1 stage(s)", "event:end\ndata:SUCCEEDED",
                "(world 1 = dp 1 × ulysses 1 × ring 1)");
        String firstId = events.lines().filter(l -> l.startsWith("id:")).findFirst().orElseThrow();
        long first = Long.parseLong(firstId.substring(3));

        String resumed = client.http().get().uri("/api/jobs/{id}/logs", id)
                .header("Last-Event-ID", Long.toString(first)).retrieve().body(String.class);
        assertThat(resumed).doesNotContain("data:queued:").contains("data:attempt 1 started");
    }

    @Test
    void cancellingARunningTrainingStopsItAtAStepBoundaryAndIsIdempotent() {
        String id = client.submitted("""
                {"kind": "TRAIN", "train": {"model": "tiny", "seqLength": 64, "maxTrainSteps": 100000}}""");
        client.awaitJob(id, TIMEOUT, job -> job.get("state").asString().equals("RUNNING")
                && !job.get("progress").isNull());

        ResponseEntity<String> cancel = client.cancel(id);
        assertThat(cancel.getStatusCode()).isEqualTo(HttpStatus.OK);
        assertThat(ServiceClient.json(cancel.getBody()).get("state").asString()).isIn("CANCELLING", "CANCELLED");

        JsonNode cancelled = client.awaitState(id, TIMEOUT, "CANCELLED");
        assertThat(cancelled.get("reason").asString()).isEqualTo("USER_CANCELLED");
        assertThat(cancelled.get("message").asString()).startsWith("cancelled after ");
        assertThat(cancelled.get("progress").get("step").asLong()).isLessThan(100000);
        assertThat(client.cancel(id).getStatusCode()).isEqualTo(HttpStatus.OK);
        assertThat(client.job(id).get("state").asString()).isEqualTo("CANCELLED");
        // The slot is free again: the next job runs.
        String next = client.submitted("""
                {"kind": "TRAIN", "train": {"model": "tiny", "seqLength": 32, "maxTrainSteps": 1}}""");
        client.awaitState(next, TIMEOUT, "SUCCEEDED");
    }

    @Test
    void aDivergingTrainingFailsWithNanLoss() {
        String id = client.submitted("""
                {"kind": "TRAIN", "train": {"model": "tiny", "seqLength": 64, "maxTrainSteps": 5, "learningRate": 1e30}}""");

        JsonNode failed = client.awaitState(id, TIMEOUT, "FAILED", "SUCCEEDED");

        assertThat(failed.get("reason").asString()).isEqualTo("NAN_LOSS");
        assertThat(failed.get("message").asString()).contains("is NaN at step 2");
    }

    @Test
    void aRepeatedIdempotencyKeyGetsTheSameJob() {
        String body = """
                {"kind": "TRAIN", "train": {"model": "tiny", "seqLength": 32, "maxTrainSteps": 1}}""";
        ResponseEntity<String> first = client.http().post().uri("/api/jobs").header("Idempotency-Key", "retry-42")
                .contentType(MediaType.APPLICATION_JSON).body(body).retrieve().toEntity(String.class);
        ResponseEntity<String> again = client.http().post().uri("/api/jobs").header("Idempotency-Key", "retry-42")
                .contentType(MediaType.APPLICATION_JSON).body(body).retrieve().toEntity(String.class);

        assertThat(first.getStatusCode()).isEqualTo(HttpStatus.CREATED);
        assertThat(again.getStatusCode()).isEqualTo(HttpStatus.OK);
        assertThat(ServiceClient.json(again.getBody()).get("id"))
                .isEqualTo(ServiceClient.json(first.getBody()).get("id"));
        client.awaitState(ServiceClient.json(first.getBody()).get("id").asString(), TIMEOUT, "SUCCEEDED");
    }

    @Test
    void aNodeWithoutGpusRefusesGpuJobs() {
        ResponseEntity<String> gpus = client.submit("""
                {"kind": "TRAIN", "gpus": 1, "train": {}}""");

        assertThat(gpus.getStatusCode()).isEqualTo(HttpStatus.BAD_REQUEST);
        assertThat(ServiceClient.json(gpus.getBody()).get("detail").asString())
                .isEqualTo("gpus: must be less than or equal to 0, the GPUs of this node");
    }

    @Test
    void prometheusShowsTheTrainingMetersAndNoSeriesOfFinishedJobs() {
        String id = client.submitted("""
                {"kind": "TRAIN", "train": {"model": "tiny", "seqLength": 32, "maxTrainSteps": 2}}""");
        client.awaitState(id, TIMEOUT, "SUCCEEDED");

        String metrics = client.http().get().uri("/actuator/prometheus").retrieve().body(String.class);

        assertThat(metrics).contains("easycontext_train_tokens_total", "easycontext_train_step_duration_seconds_bucket",
                "easycontext_jobs{application=\"easycontext-service\",state=\"SUCCEEDED\"}",
                "easycontext_jobs_queued").doesNotContain(id);
    }

    @Test
    void theOpenApiDescriptionListsTheEndpointsWithBearerAuth() {
        String docs = client.http().get().uri("/v3/api-docs").retrieve().body(String.class);

        assertThat(docs).contains("\"/api/jobs\"", "\"/api/jobs/{id}/cancel\"", "\"/api/jobs/{id}/logs\"",
                "\"/api/jobs/{id}/artifacts/{name}\"", "\"/api/plans\"", "\"bearer\"");
    }

    private static byte[] readBytes(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String withoutThroughput(String jsonLines) {
        return jsonLines.replaceAll(",\"tokens_per_s\":[^}]*", "");
    }
}
