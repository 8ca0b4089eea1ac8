package io.easycontext.service.scheduler;

import java.time.Duration;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * {@code easycontext.scheduler.*}.
 *
 * @param pollInterval how often the queue is looked at besides the moments a job is submitted or ends: a safety
 *     net, e.g. for jobs a restart requeued
 */
@ConfigurationProperties("easycontext.scheduler")
public record SchedulerProperties(Duration pollInterval) {

    public SchedulerProperties {
        pollInterval = pollInterval == null ? Duration.ofSeconds(5) : pollInterval;
    }
}
