package io.easycontext.service.job;

import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.UUID;

import io.easycontext.service.job.spec.JobSpec;
import org.springframework.data.domain.Limit;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;
import tools.jackson.databind.json.JsonMapper;

@Service
public class JobService {

    private final JobRepository jobs;
    private final JsonMapper json;
    private final Clock clock;

    JobService(JobRepository jobs, JsonMapper json, Clock clock) {
        this.jobs = jobs;
        this.json = json;
        this.clock = clock;
    }

    /** Stores the job as {@link JobState#QUEUED}; the spec must already be valid. */
    @Transactional
    public Job submit(JobSpec spec) {
        // Both databases keep microseconds: truncating here makes the returned job equal what a later read sees.
        Instant now = clock.instant().truncatedTo(ChronoUnit.MICROS);
        String specJson = json.writeValueAsString(spec.spec());
        return jobs.save(Job.queued(UUID.randomUUID(), spec.kind(), spec.priority(), spec.gpus(), specJson, now));
    }

    @Transactional(readOnly = true)
    public Job get(UUID id) {
        return jobs.findById(id).orElseThrow(() -> new JobNotFoundException(id));
    }

    @Transactional(readOnly = true)
    public List<Job> newest(int limit) {
        return jobs.findNewest(Limit.of(limit));
    }
}
