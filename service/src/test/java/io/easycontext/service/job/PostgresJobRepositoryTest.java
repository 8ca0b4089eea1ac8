package io.easycontext.service.job;

import io.easycontext.service.testsupport.RequiresDocker;
import org.springframework.boot.data.jpa.test.autoconfigure.DataJpaTest;
import org.springframework.boot.jdbc.test.autoconfigure.AutoConfigureTestDatabase;
import org.springframework.boot.testcontainers.service.connection.ServiceConnection;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.postgresql.PostgreSQLContainer;
import org.testcontainers.utility.DockerImageName;

/**
 * The repository on a real PostgreSQL, the {@code postgres} profile's database: the same migrations and queries.
 * The image is {@code TEST_POSTGRES_IMAGE} where set (CI builds {@code local/postgres:15}, having no registry),
 * else the official {@code postgres:15}. Without Docker the class is skipped, and says so.
 */
@DataJpaTest
@AutoConfigureTestDatabase(replace = AutoConfigureTestDatabase.Replace.NONE)
@RequiresDocker
@Testcontainers
class PostgresJobRepositoryTest extends JobRepositoryContract {

    @Container
    @ServiceConnection
    static final PostgreSQLContainer POSTGRES = new PostgreSQLContainer(DockerImageName
            .parse(System.getenv().getOrDefault("TEST_POSTGRES_IMAGE", "postgres:15"))
            .asCompatibleSubstituteFor("postgres"));
}
