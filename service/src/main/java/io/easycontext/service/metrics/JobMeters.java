package io.easycontext.service.metrics;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

/** One running job's gauges, and its share of the shared counters; {@link #close()} removes its series. */
public final class JobMeters implements AutoCloseable {

    private final MeterRegistry registry;
    private final String jobId;
    private final Counter tokens;
    private final Timer stepDuration;
    private final List<Meter> own = new ArrayList<>();
    private volatile double loss = Double.NaN;
    private volatile double mfu = Double.NaN;

    JobMeters(MeterRegistry registry, String jobId, Counter tokens, Timer stepDuration) {
        this.registry = registry;
        this.jobId = jobId;
        this.tokens = tokens;
        this.stepDuration = stepDuration;
        own.add(Gauge.builder("easycontext.job.loss", this, m -> m.loss)
                .description("The latest step's training loss").tag("job", jobId).register(registry));
    }

    public void step(long stepTokens, Duration duration, double stepLoss, Double stepMfu) {
        tokens.increment(stepTokens);
        stepDuration.record(duration);
        loss = stepLoss;
        if (stepMfu != null) {
            if (Double.isNaN(mfu)) {
                // Registered once known: a CPU job has no MFU series at all rather than a NaN one.
                own.add(Gauge.builder("easycontext.job.mfu", this, m -> m.mfu)
                        .description("Model FLOPs utilisation of the latest step, 0 to 1")
                        .tag("job", jobId).register(registry));
            }
            mfu = stepMfu;
        }
    }

    @Override
    public void close() {
        own.forEach(registry::remove);
        own.clear();
    }
}
