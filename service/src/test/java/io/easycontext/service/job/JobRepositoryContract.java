package io.easycontext.service.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.mockito.Mockito.mock;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.jpa.test.autoconfigure.TestEntityManager;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.orm.ObjectOptimisticLockingFailureException;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.annotation.Transactional;
import tools.jackson.databind.json.JsonMapper;

/**
 * The persistence of jobs, run against each database the service supports: the schema Flyway builds (which
 * Hibernate validates the entities against on start-up), the queue order, keyset pagination and optimistic locking.
 */
@Transactional
abstract class JobRepositoryContract {

    private static final Instant T0 = Instant.parse("2026-01-02T03:04:05.123456Z");

    @Autowired
    private JobRepository jobs;

    @Autowired
    private TestEntityManager entityManager;

    @Autowired
    private PlatformTransactionManager transactions;

    private JobService service;

    @BeforeEach
    void createService() {
        service = new JobService(jobs, new JobChanges(jobs, transactions, Clock.systemUTC()), spec -> List.of(),
                new JsonMapper(), mock(ApplicationEventPublisher.class), transactions);
    }

    @Test
    void theSchemaComesFromTheFlywayMigrations() {
        List<?> applied = entityManager.getEntityManager()
                .createNativeQuery("select \"version\" from \"flyway_schema_history\" where \"success\" and \"version\" is not null "
                        + "order by \"installed_rank\"")
                .getResultList();

        assertThat(applied).map(String::valueOf).containsExactly("1", "2", "3", "4");
    }

    @Test
    void aJobReadsBackFieldForFieldWithItsProgress() {
        UUID id = UUID.randomUUID();
        String spec = "{\"model\":\"tiny\",\"minTokens\":8,\"maxTokens\":16,\"tokensStep\":8,\"truncate\":false}";
        Job job = Job.queued(id, JobKind.EVAL_PERPLEXITY, -3, 2, spec, List.of("train --a", "train --b"), "k-1", T0);
        job.start(List.of(0, 1), T0.plusSeconds(1));
        job.run(T0.plusSeconds(2));
        JobProgress progress = new JobProgress(15L, 30L, "steps", 1, 2, 15L, 30L, 960L, 2.5, 1234.5, 0.41, 1L << 33,
                T0.plusSeconds(60));
        job.recordProgress(progress, T0.plusSeconds(3));
        jobs.save(job);
        entityManager.flush();
        entityManager.clear();

        Job read = jobs.findById(id).orElseThrow();

        assertThat(read.getKind()).isEqualTo(JobKind.EVAL_PERPLEXITY);
        assertThat(read.getState()).isEqualTo(JobState.RUNNING);
        assertThat(read.getPriority()).isEqualTo(-3);
        assertThat(read.getGpus()).isEqualTo(2);
        assertThat(read.getGpuIds()).containsExactly(0, 1);
        assertThat(read.getAttempt()).isEqualTo(1);
        assertThat(read.getSpecJson()).isEqualTo(spec);
        assertThat(read.getCommandLines()).containsExactly("train --a", "train --b");
        assertThat(read.getIdempotencyKey()).isEqualTo("k-1");
        assertThat(read.getProgress()).isEqualTo(progress);
        assertThat(read.getCreatedAt()).isEqualTo(T0);
        assertThat(read.getStartedAt()).isEqualTo(T0.plusSeconds(1));
        assertThat(read.getUpdatedAt()).isEqualTo(T0.plusSeconds(3));
        assertThat(read.getVersion()).isZero();
        assertThat(jobs.findByIdempotencyKey("k-1")).map(Job::getId).contains(id);
    }

    @Test
    void theQueueIsServedByPriorityThenAge() {
        UUID oldLow = save(T0, 0, JobKind.TRAIN);
        UUID newHigh = save(T0.plusMillis(2), 5, JobKind.TRAIN);
        UUID oldHigh = save(T0.plusMillis(1), 5, JobKind.TRAIN);
        UUID started = save(T0.minusMillis(1), 9, JobKind.TRAIN);
        jobs.findById(started).orElseThrow().start(List.of(), T0);
        entityManager.flush();

        assertThat(jobs.findQueue()).extracting(Job::getId).containsExactly(oldHigh, newHigh, oldLow);
    }

    @Test
    void pagesFollowEachOtherWithoutGapsOrRepeatsAndFilterByStateAndKind() {
        List<UUID> trains = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            trains.add(0, save(T0.plusMillis(i), 0, JobKind.TRAIN));
            save(T0.plusMillis(i), 0, JobKind.EVAL_NEEDLE);
        }
        // Two jobs created in the same microsecond: the id breaks the tie.
        trains.add(0, save(T0.plusMillis(4), 0, JobKind.TRAIN));
        entityManager.flush();

        List<UUID> seen = new ArrayList<>();
        JobCursor cursor = null;
        do {
            JobService.Page page = service.list(new JobQuery(JobState.QUEUED, JobKind.TRAIN, cursor), 2);
            page.jobs().forEach(j -> seen.add(j.getId()));
            assertThat(page.jobs()).hasSizeLessThanOrEqualTo(2).allMatch(j -> j.getKind() == JobKind.TRAIN);
            cursor = page.next();
        } while (cursor != null);

        assertThat(seen).hasSize(6).doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(trains);
        List<Instant> created = seen.stream().map(id -> jobs.findById(id).orElseThrow().getCreatedAt()).toList();
        assertThat(created).isSortedAccordingTo((a, b) -> b.compareTo(a));
        assertThat(service.list(new JobQuery(JobState.RUNNING, null, null), 10).jobs()).isEmpty();
    }

    @Test
    void jobsAreCountedByState() {
        save(T0, 0, JobKind.TRAIN);
        save(T0, 0, JobKind.TRAIN);
        UUID cancelled = save(T0, 0, JobKind.TRAIN);
        jobs.findById(cancelled).orElseThrow().requestCancel(T0);
        entityManager.flush();

        Map<JobState, Long> counts = jobs.countByState().stream()
                .collect(Collectors.toMap(JobRepository.StateCount::getState, JobRepository.StateCount::getCount));
        assertThat(counts).containsOnly(Map.entry(JobState.QUEUED, 2L), Map.entry(JobState.CANCELLED, 1L));
    }

    @Test
    void aChangeMadeOnAStaleCopyFailsInsteadOfOverwriting() {
        UUID id = save(T0, 0, JobKind.TRAIN);
        entityManager.flush();
        entityManager.clear();
        Job stale = jobs.findById(id).orElseThrow();
        entityManager.detach(stale);
        Job current = jobs.findById(id).orElseThrow();
        current.requestCancel(T0);
        entityManager.flush();

        stale.start(List.of(), T0);
        assertThatThrownBy(() -> {
            jobs.save(stale);
            entityManager.flush();
        }).isInstanceOfAny(ObjectOptimisticLockingFailureException.class, jakarta.persistence.OptimisticLockException.class);
    }

    private UUID save(Instant createdAt, int priority, JobKind kind) {
        UUID id = UUID.randomUUID();
        jobs.save(Job.queued(id, kind, priority, 0, "{}", createdAt));
        return id;
    }
}
