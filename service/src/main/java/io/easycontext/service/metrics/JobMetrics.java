package io.easycontext.service.metrics;

import java.time.Duration;
import java.util.UUID;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.springframework.stereotype.Component;

/**
 * The training meters, in base units: {@code easycontext_train_tokens_total}, the histogram
 * {@code easycontext_train_step_duration_seconds}, and per running job {@code easycontext_job_loss} and
 * {@code easycontext_job_mfu}. Steps are never a tag; the job is, on gauges only, and its series are removed when
 * it ends, so the number of series is bounded by the jobs running at once.
 */
@Component
public class JobMetrics {

    private final MeterRegistry registry;
    private final Counter tokens;
    private final Timer stepDuration;

    JobMetrics(MeterRegistry registry) {
        this.registry = registry;
        this.tokens = Counter.builder("easycontext.train.tokens")
                .description("Tokens trained on, over all jobs")
                .baseUnit("tokens")
                .register(registry);
        this.stepDuration = Timer.builder("easycontext.train.step.duration")
                .description("Wall time of one optimizer step, over all jobs")
                .publishPercentileHistogram()
                // From a tiny model's step to a million-token one's.
                .minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofMinutes(30))
                .register(registry);
    }

    /** The meters of one running job; close them when it ends. */
    public JobMeters forJob(UUID jobId) {
        return new JobMeters(registry, jobId.toString(), tokens, stepDuration);
    }
}
