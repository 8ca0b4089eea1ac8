package io.easycontext.service.job;

import java.util.List;
import java.util.Optional;
import java.util.UUID;

import org.springframework.data.domain.Limit;
import org.springframework.data.jpa.repository.Query;
import org.springframework.data.repository.Repository;

/** Only the queries the service makes, rather than every method of {@code JpaRepository}. */
interface JobRepository extends Repository<Job, UUID> {

    Job save(Job job);

    Optional<Job> findById(UUID id);

    /** The id breaks ties between jobs created in the same microsecond, so that the order is stable. */
    @Query("select j from Job j order by j.createdAt desc, j.id desc")
    List<Job> findNewest(Limit limit);
}
