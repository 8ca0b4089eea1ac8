package io.easycontext.service.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.UUID;

import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.data.jpa.test.autoconfigure.DataJpaTest;
import org.springframework.boot.jpa.test.autoconfigure.TestEntityManager;
import org.springframework.data.domain.Limit;

/** Runs against the schema that Flyway builds, which Hibernate validates the entity against on startup. */
@DataJpaTest
class JobRepositoryTest {

    private static final Instant T0 = Instant.parse("2026-01-02T03:04:05.123456Z");

    @Autowired
    private JobRepository jobs;

    @Autowired
    private TestEntityManager entityManager;

    @Test
    void theSchemaComesFromTheFlywayMigration() {
        Object applied = entityManager.getEntityManager()
                .createNativeQuery("select \"version\" from \"flyway_schema_history\" where \"success\" and \"version\" = '1'")
                .getSingleResult();

        assertThat(applied).isEqualTo("1");
    }

    @Test
    void aSavedJobReadsBackFieldForField() {
        UUID id = UUID.randomUUID();
        String spec = "{\"model\":\"tiny\",\"minTokens\":8,\"maxTokens\":16,\"tokensStep\":8,\"truncate\":false}";
        jobs.save(Job.queued(id, JobKind.EVAL_PERPLEXITY, -3, 2, spec, T0));
        entityManager.flush();
        entityManager.clear();

        Job read = jobs.findById(id).orElseThrow();

        assertThat(read.getKind()).isEqualTo(JobKind.EVAL_PERPLEXITY);
        assertThat(read.getState()).isEqualTo(JobState.QUEUED);
        assertThat(read.getReason()).isNull();
        assertThat(read.getMessage()).isNull();
        assertThat(read.getPriority()).isEqualTo(-3);
        assertThat(read.getGpus()).isEqualTo(2);
        assertThat(read.getSpecJson()).isEqualTo(spec);
        assertThat(read.getCreatedAt()).isEqualTo(T0);
        assertThat(read.getUpdatedAt()).isEqualTo(T0);
        assertThat(read.getVersion()).isZero();
    }

    @Test
    void findNewestOrdersByCreationTimeDescendingAndHonoursTheLimit() {
        UUID first = save(T0);
        UUID second = save(T0.plusMillis(1));
        UUID third = save(T0.plusMillis(2));

        assertThat(jobs.findNewest(Limit.of(10))).extracting(Job::getId).containsExactly(third, second, first);
        assertThat(jobs.findNewest(Limit.of(2))).extracting(Job::getId).containsExactly(third, second);
    }

    @Test
    void findNewestBreaksTiesOnTheId() {
        UUID low = UUID.fromString("00000000-0000-0000-0000-000000000001");
        UUID high = UUID.fromString("00000000-0000-0000-0000-000000000002");
        jobs.save(Job.queued(low, JobKind.TRAIN, 0, 0, "{}", T0));
        jobs.save(Job.queued(high, JobKind.TRAIN, 0, 0, "{}", T0));

        assertThat(jobs.findNewest(Limit.of(10))).extracting(Job::getId).containsExactly(high, low);
    }

    private UUID save(Instant createdAt) {
        UUID id = UUID.randomUUID();
        jobs.save(Job.queued(id, JobKind.TRAIN, 0, 0, "{}", createdAt));
        return id;
    }
}
