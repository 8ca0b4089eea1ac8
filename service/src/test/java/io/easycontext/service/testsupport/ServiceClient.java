package io.easycontext.service.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Set;
import java.util.function.Predicate;

import org.awaitility.Awaitility;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.client.RestClient;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The API over real HTTP, as a client with the admin token uses it; errors come back as responses. */
public final class ServiceClient {

    private static final JsonMapper JSON = new JsonMapper();

    private final RestClient http;

    public ServiceClient(int port, String adminToken) {
        this.http = RestClient.builder()
                .baseUrl("http://localhost:" + port)
                .defaultHeader(HttpHeaders.AUTHORIZATION, "Bearer " + adminToken)
                .defaultStatusHandler(status -> true, (request, response) -> { })
                .build();
    }

    public RestClient http() {
        return http;
    }

    public ResponseEntity<String> submit(String body) {
        return http.post().uri("/api/jobs").contentType(MediaType.APPLICATION_JSON).body(body)
                .retrieve().toEntity(String.class);
    }

    /** Submits and returns the new job's id; fails unless the service answered 201. */
    public String submitted(String body) {
        ResponseEntity<String> response = submit(body);
        assertThat(response.getStatusCode().value()).as(response.getBody()).isEqualTo(201);
        return json(response.getBody()).get("id").asString();
    }

    public JsonNode job(String id) {
        return json(http.get().uri("/api/jobs/{id}", id).retrieve().body(String.class));
    }

    public ResponseEntity<String> cancel(String id) {
        return http.post().uri("/api/jobs/{id}/cancel", id).retrieve().toEntity(String.class);
    }

    /** Waits for the job to satisfy {@code condition} and returns it as it was then. */
    public JsonNode awaitJob(String id, Duration timeout, Predicate<JsonNode> condition) {
        JsonNode[] last = new JsonNode[1];
        Awaitility.await().atMost(timeout).pollInterval(Duration.ofMillis(100))
                .alias("job " + id)
                .until(() -> {
                    last[0] = job(id);
                    return condition.test(last[0]);
                });
        return last[0];
    }

    public JsonNode awaitState(String id, Duration timeout, String... states) {
        Set<String> wanted = Set.of(states);
        return awaitJob(id, timeout, job -> wanted.contains(job.get("state").asString()));
    }

    public static JsonNode json(String body) {
        return JSON.readTree(body);
    }
}
