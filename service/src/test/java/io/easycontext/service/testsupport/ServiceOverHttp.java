package io.easycontext.service.testsupport;

import java.nio.file.Path;

import io.easycontext.service.security.TestTokens;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The whole service over real HTTP: a server on a random port with the admin token configured, its data directory a
 * temporary one of the test class, and {@link #client} connected with that token before each test. A subclass that
 * needs other properties declares its own {@code @SpringBootTest}, with {@link TestTokens#ADMIN_PROPERTY} among them.
 */
@SpringBootTest(webEnvironment = WebEnvironment.RANDOM_PORT, properties = TestTokens.ADMIN_PROPERTY)
@DirtiesContext // closes the database before JUnit deletes the @TempDir it lives in
public abstract class ServiceOverHttp {

    @TempDir
    static Path dataDir;

    @LocalServerPort
    private int port;

    protected ServiceClient client;

    @DynamicPropertySource
    static void useTheTemporaryDataDir(DynamicPropertyRegistry registry) {
        registry.add("easycontext.data-dir", () -> dataDir.toString());
    }

    @BeforeEach
    void connect() {
        client = new ServiceClient(port, TestTokens.ADMIN);
    }

    /** The job's artifacts listing, as JSON text. */
    protected String listing(String id) {
        return client.http().get().uri("/api/jobs/{id}/artifacts", id).retrieve().body(String.class);
    }

    /** One of the job's artifacts, by its name in the listing. */
    protected byte[] download(String id, String name) {
        return client.http().get().uri("/api/jobs/{id}/artifacts/" + name, id).retrieve().body(byte[].class);
    }

    /** One of the job's artifacts as text. */
    protected String downloadText(String id, String name) {
        return client.http().get().uri("/api/jobs/{id}/artifacts/" + name, id).retrieve().body(String.class);
    }
}
