package io.easycontext.service.execution;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * {@code easycontext.checkpoints.*}.
 *
 * @param keepLast the newest checkpoints each stage of a training keeps (the CLI's {@code --keep-last}); 0 keeps all.
 *     A stage's checkpoints are what a restart resumes it from, and each holds the weights and two AdamW moments.
 */
@ConfigurationProperties("easycontext.checkpoints")
public record CheckpointProperties(Integer keepLast) {

    public CheckpointProperties {
        keepLast = keepLast == null ? 2 : keepLast;
        if (keepLast < 0) {
            throw new IllegalArgumentException("easycontext.checkpoints.keep-last must not be negative");
        }
    }
}
