package io.easycontext.service.metrics;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.Map;

import io.easycontext.service.job.JobRepository;
import io.easycontext.service.job.JobState;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import org.springframework.stereotype.Component;

/**
 * {@code easycontext_jobs{state=...}}, one series per state, and {@code easycontext_jobs_queued}, the queue length.
 * Counted in the database, since that is where the states are; one query serves a whole scrape.
 */
@Component
class JobStateMetrics implements MeterBinder {

    private static final Duration MAX_AGE = Duration.ofSeconds(2);

    private final JobRepository jobs;
    private final Clock clock;
    private Map<JobState, Long> counts = new EnumMap<>(JobState.class);
    private Instant countedAt = Instant.MIN;

    JobStateMetrics(JobRepository jobs, Clock clock) {
        this.jobs = jobs;
        this.clock = clock;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        for (JobState state : JobState.values()) {
            Gauge.builder("easycontext.jobs", this, m -> m.count(state))
                    .description("Jobs in each state")
                    .tag("state", state.name())
                    .register(registry);
        }
        Gauge.builder("easycontext.jobs.queued", this, m -> m.count(JobState.QUEUED))
                .description("Jobs waiting for resources")
                .register(registry);
    }

    private synchronized double count(JobState state) {
        Instant now = clock.instant();
        if (Duration.between(countedAt, now).compareTo(MAX_AGE) > 0) {
            Map<JobState, Long> fresh = new EnumMap<>(JobState.class);
            jobs.countByState().forEach(c -> fresh.put(c.getState(), c.getCount()));
            counts = fresh;
            countedAt = now;
        }
        return counts.getOrDefault(state, 0L);
    }
}
