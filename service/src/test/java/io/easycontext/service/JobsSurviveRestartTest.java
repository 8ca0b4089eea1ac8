package io.easycontext.service;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.nio.file.Path;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.web.client.RestClient;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The whole application over real HTTP on its default file-backed H2: a job submitted to one run is there,
 * unchanged, in the next run on the same data directory. The first run is started and stopped by hand before
 * this class's context starts; that context is the restarted application.
 */
@SpringBootTest(webEnvironment = WebEnvironment.RANDOM_PORT)
@DirtiesContext // closes the database before JUnit deletes the @TempDir it lives in
class JobsSurviveRestartTest {

    @TempDir
    static Path dataDir;

    private static JsonNode submitted;
    private static URI location;

    @Autowired
    private JsonMapper json;

    @DynamicPropertySource
    static void useTheTemporaryDataDir(DynamicPropertyRegistry registry) {
        registry.add("easycontext.data-dir", () -> dataDir.toString());
    }

    @BeforeAll
    static void submitAJobToAnEarlierRun() {
        // Closing the first run also releases the database files, which H2 opens for one process at a time.
        try (ConfigurableApplicationContext earlierRun = new SpringApplicationBuilder(EasyContextServiceApplication.class)
                .run("--server.port=0", "--easycontext.data-dir=" + dataDir)) {
            ResponseEntity<String> created = client(earlierRun).post().uri("/api/jobs")
                    .contentType(MediaType.APPLICATION_JSON)
                    .body("""
                            {"kind": "TRAIN", "gpus": 0,
                             "train": {"model": "tiny", "seqLength": 128, "maxTrainSteps": 3, "seed": 42}}
                            """)
                    .retrieve().toEntity(String.class);

            assertThat(created.getStatusCode()).isEqualTo(HttpStatus.CREATED);
            submitted = earlierRun.getBean(JsonMapper.class).readTree(created.getBody());
            location = created.getHeaders().getLocation();
        }
        assertThat(submitted.get("state").asString()).isEqualTo("QUEUED");
        assertThat(submitted.get("spec").get("seqLength").asInt()).isEqualTo(128);
        assertThat(submitted.get("spec").get("parallelMode").asString()).isEqualTo("zigzag_ring_attn");
        assertThat(location).hasToString("/api/jobs/" + submitted.get("id").asString());
    }

    @Test
    void theJobIsStillThereAfterTheRestart(@LocalServerPort int port) {
        ResponseEntity<String> read = client(port).get().uri(location).retrieve().toEntity(String.class);

        assertThat(read.getStatusCode()).isEqualTo(HttpStatus.OK);
        assertThat(json.readTree(read.getBody())).isEqualTo(submitted);
    }

    @Test
    void theJobIsListedAfterTheRestart(@LocalServerPort int port) {
        ResponseEntity<String> list = client(port).get().uri("/api/jobs").retrieve().toEntity(String.class);

        assertThat(json.readTree(list.getBody()).values()).containsExactly(submitted);
    }

    private static RestClient client(ConfigurableApplicationContext run) {
        return client(((WebServerApplicationContext) run).getWebServer().getPort());
    }

    private static RestClient client(int port) {
        return RestClient.create("http://localhost:" + port);
    }
}
