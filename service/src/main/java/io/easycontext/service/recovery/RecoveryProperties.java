package io.easycontext.service.recovery;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * {@code easycontext.recovery.*}.
 *
 * @param maxRestarts how many node restarts a job survives; the next one fails it with NODE_RESTART, so that a job
 *     that brings the node down cannot do so forever
 */
@ConfigurationProperties("easycontext.recovery")
public record RecoveryProperties(Integer maxRestarts) {

    public RecoveryProperties {
        maxRestarts = maxRestarts == null ? 3 : maxRestarts;
        if (maxRestarts < 0) {
            throw new IllegalArgumentException("easycontext.recovery.max-restarts must not be negative");
        }
    }
}
