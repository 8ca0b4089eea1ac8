package io.easycontext.service.artifact;

import java.time.Instant;

/**
 * A file a job wrote.
 *
 * @param name its path under the job's directory, with {@code /} between folders, e.g. {@code metrics/stage-0.jsonl}
 */
public record Artifact(String name, long size, Instant modifiedAt) {
}
