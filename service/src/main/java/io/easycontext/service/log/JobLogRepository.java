package io.easycontext.service.log;

import java.util.List;
import java.util.UUID;

import org.springframework.data.domain.Limit;
import org.springframework.data.repository.Repository;

interface JobLogRepository extends Repository<JobLogLine, Long> {

    JobLogLine save(JobLogLine line);

    List<JobLogLine> findByJobIdAndIdGreaterThanOrderByIdAsc(UUID jobId, long afterId, Limit limit);
}
