package io.easycontext.service;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import io.easycontext.service.security.TestTokens;
import io.easycontext.service.testsupport.ServiceClient;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.web.client.RestClient;
import tools.jackson.databind.JsonNode;

/**
 * {@code kill -9} loses no job: the service runs in a child JVM, is killed (SIGKILL, no shutdown hook runs) while
 * it trains, and a new service on the same data directory requeues the job, which resumes from its newest checkpoint
 * in the stage it was in and computes exactly the steps of a job that was never interrupted.
 */
class KillNineRecoveryTest {

    private static final Duration START = Duration.ofSeconds(90);
    // Stage 2 long enough that the kill, polled for after its first checkpoint, lands before its end even on a
    // loaded machine (at 150 steps the job once finished first; at 600 steps of 64 tokens, with two builds sharing
    // two cores, once more).
    private static final String TWO_STAGES = """
            {"kind": "TRAIN", "train": {"model": "tiny", "seqLength": 32, "maxTrainSteps": 6, "seed": 3,
              "learningRate": 1e-3, "checkpointEvery": 3, "stages": [{}, {"seqLength": 256, "maxTrainSteps": 600,
              "checkpointEvery": 10}]}}""";
    private static final String FIRST_CHECKPOINT_OF_STAGE_2 =
            "checkpoints/stage-1/checkpoint-0000010/trainer_state.json";

    @TempDir
    Path dataDir;

    private Process service;

    @AfterEach
    void stopService() throws InterruptedException {
        if (service != null && service.isAlive()) {
            service.destroy();
            service.waitFor();
        }
    }

    @Test
    void aTrainingKilledAfterACheckpointResumesThereAndMatchesAnUninterruptedOne() throws Exception {
        int port = freePort();
        service = start(port, "first");
        ServiceClient client = new ServiceClient(port, TestTokens.ADMIN);
        String id = client.submitted(TWO_STAGES);
        // Watched on disk, not through the service: under load an HTTP poll once took long enough for the job to
        // finish its 600 steps before the kill.
        Path firstCheckpoint = dataDir.resolve("jobs").resolve(id).resolve(FIRST_CHECKPOINT_OF_STAGE_2);
        Awaitility.await().atMost(Duration.ofSeconds(60)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(2))
                .until(() -> Files.exists(firstCheckpoint));

        service.destroyForcibly(); // SIGKILL
        assertThat(service.waitFor()).isNotZero();

        service = start(port, "second");
        JsonNode done = client.awaitState(id, Duration.ofSeconds(120), "SUCCEEDED", "FAILED");
        String uninterrupted = client.submitted(TWO_STAGES);
        client.awaitState(uninterrupted, Duration.ofSeconds(120), "SUCCEEDED", "FAILED");

        assertThat(done.get("state").asString()).as(done.toString()).isEqualTo("SUCCEEDED");
        assertThat(done.get("attempt").asInt()).isEqualTo(2);
        assertThat(done.get("progress").get("step").asLong()).isEqualTo(606);
        String log = client.http().get().uri("/api/jobs/{id}/logs", id).retrieve().body(String.class);
        String secondAttempt = log.substring(log.indexOf("data:attempt 2 started"));
        assertThat(log).contains("data:QUEUED (NODE_RESTART): requeued after a node restart (1 of at most 3)");
        assertThat(secondAttempt).containsPattern("data:stage 2/2: .*; resuming from "
                + "checkpoints/stage-1/checkpoint-0000\\d{3}, \\d+ steps done").doesNotContain("data:stage 1/2");
        for (String metrics : List.of("metrics/stage-0.jsonl", "metrics/stage-1.jsonl")) {
            assertThat(withoutThroughput(download(client, id, metrics))).as(metrics)
                    .isEqualTo(withoutThroughput(download(client, uninterrupted, metrics)));
        }
        assertThat(download(client, id, "metrics/stage-1.jsonl").lines()).hasSize(600);
        assertThat(downloadBytes(client, id, "checkpoints/stage-1/model.safetensors"))
                .isEqualTo(downloadBytes(client, uninterrupted, "checkpoints/stage-1/model.safetensors"));
    }

    private static String download(ServiceClient client, String id, String name) {
        return client.http().get().uri("/api/jobs/{id}/artifacts/" + name, id).retrieve().body(String.class);
    }

    private static byte[] downloadBytes(ServiceClient client, String id, String name) {
        return client.http().get().uri("/api/jobs/{id}/artifacts/" + name, id).retrieve().body(byte[].class);
    }

    private static String withoutThroughput(String jsonLines) {
        return jsonLines.replaceAll(",\"tokens_per_s\":[^}]*", "");
    }

    private Process start(int port, String name) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Path output = dataDir.resolve(name + ".log");
        Process process = new ProcessBuilder(List.of(java, "-Xmx1g", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                EasyContextServiceApplication.class.getName(),
                "--server.port=" + port,
                "--easycontext.data-dir=" + dataDir,
                "--" + TestTokens.ADMIN_PROPERTY,
                "--spring.main.banner-mode=off"))
                .redirectErrorStream(true)
                .redirectOutput(output.toFile())
                .start();
        RestClient health = RestClient.create("http://localhost:" + port);
        try {
            Awaitility.await().atMost(START).pollInterval(Duration.ofMillis(250)).ignoreExceptions()
                    .until(() -> health.get().uri("/actuator/health").retrieve().body(String.class).contains("UP"));
        } catch (RuntimeException e) {
            throw new AssertionError("the " + name + " service did not start:\n" + Files.readString(output), e);
        }
        return process;
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
