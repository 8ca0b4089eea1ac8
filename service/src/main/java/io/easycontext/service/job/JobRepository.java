package io.easycontext.service.job;

import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

import org.springframework.data.jpa.repository.JpaSpecificationExecutor;
import org.springframework.data.jpa.repository.Query;
import org.springframework.data.repository.Repository;

/** Only the queries the service makes, rather than every method of {@code JpaRepository}. */
public interface JobRepository extends Repository<Job, UUID>, JpaSpecificationExecutor<Job> {

    Job save(Job job);

    /** Saves and flushes at once, so that a broken unique key shows here rather than at commit. */
    Job saveAndFlush(Job job);

    Optional<Job> findById(UUID id);

    Optional<Job> findByIdempotencyKey(String idempotencyKey);

    /** The queue in the order it is served: higher priority first, then older first; the id makes it total. */
    @Query("select j from Job j where j.state = io.easycontext.service.job.JobState.QUEUED "
            + "order by j.priority desc, j.createdAt asc, j.id asc")
    List<Job> findQueue();

    List<Job> findByStateIn(Collection<JobState> states);

    /** How many jobs are in each state that has any. */
    @Query("select j.state as state, count(j) as count from Job j group by j.state")
    List<StateCount> countByState();

    interface StateCount {
        JobState getState();

        long getCount();
    }
}
