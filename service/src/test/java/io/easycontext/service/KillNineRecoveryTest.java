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
 * it trains, and a new service on the same data directory requeues the job and finishes it.
 */
class KillNineRecoveryTest {

    private static final Duration START = Duration.ofSeconds(90);

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
    void aJobInterruptedByKill9IsRequeuedAndSucceedsAfterTheRestart() throws Exception {
        int port = freePort();
        service = start(port, "first");
        ServiceClient client = new ServiceClient(port, TestTokens.ADMIN);
        String id = client.submitted("""
                {"kind": "TRAIN", "train": {"model": "tiny", "seqLength": 64, "maxTrainSteps": 200}}""");
        JsonNode running = client.awaitJob(id, Duration.ofSeconds(60),
                job -> job.get("state").asString().equals("RUNNING") && !job.get("progress").isNull());
        assertThat(running.get("progress").get("step").asLong()).isLessThan(200);

        service.destroyForcibly(); // SIGKILL
        assertThat(service.waitFor()).isNotZero();

        service = start(port, "second");
        JsonNode done = client.awaitState(id, Duration.ofSeconds(120), "SUCCEEDED", "FAILED");

        assertThat(done.get("state").asString()).as(done.toString()).isEqualTo("SUCCEEDED");
        assertThat(done.get("attempt").asInt()).isEqualTo(2);
        assertThat(done.get("progress").get("step").asLong()).isEqualTo(200);
        String log = client.http().get().uri("/api/jobs/{id}/logs", id).retrieve().body(String.class);
        assertThat(log).contains("data:QUEUED (NODE_RESTART): requeued after a node restart (1 of at most 3)",
                "data:attempt 2 started");
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
