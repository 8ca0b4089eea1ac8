package io.easycontext.service.live;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import io.easycontext.service.execution.TrainingProgress;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Reads a training's {@code metrics/stage-K.jsonl} files as they grow, stage after stage, and turns their new lines
 * into {@link StepEvent}s numbered over the whole training. Only whole lines are read: the runner flushes each line as
 * it writes it, so a partial one is still being written. A restarted attempt replaces a stage's file (the steps after
 * its checkpoint are computed again, with the same values); the follower notices by the file's identity or size, reads
 * it again from the start and skips the steps it has already given out. Not thread-safe: one poller at a time.
 */
final class StageMetricsFollower {

    private static final JsonMapper JSON = new JsonMapper();
    private static final int MAX_READ = 1 << 20;

    private final Path workDir;
    /** Steps of the stages before stage k, for k from 0 to the number of stages. */
    private final long[] stepsBefore;

    private int stage;
    private long offset;
    private Object fileKey;
    private long lastStep;

    /**
     * @param stageSteps each stage's optimizer steps, in order
     * @param afterStep give out steps after this one (over all stages); 0 for all
     */
    StageMetricsFollower(Path workDir, List<Long> stageSteps, long afterStep) {
        this.workDir = workDir;
        this.stepsBefore = new long[stageSteps.size() + 1];
        for (int k = 0; k < stageSteps.size(); k++) {
            stepsBefore[k + 1] = stepsBefore[k] + stageSteps.get(k);
        }
        this.lastStep = afterStep;
        while (stage < stageSteps.size() - 1 && stepsBefore[stage + 1] <= afterStep) {
            stage++;
        }
    }

    /** The steps written since the last call, at most about {@code max} of them, in order. */
    List<StepEvent> poll(int max) {
        List<StepEvent> steps = new ArrayList<>();
        int stages = stepsBefore.length - 1;
        while (stage < stages && steps.size() < max) {
            int before = steps.size();
            readNewLines(steps, max);
            boolean caughtUp = steps.size() == before;
            // A stage's file is complete once the next stage's exists: the runner closes one before creating the other.
            if (caughtUp && stage + 1 < stages && Files.exists(file(stage + 1))) {
                stage++;
                offset = 0;
                fileKey = null;
            } else if (caughtUp) {
                break;
            }
        }
        return steps;
    }

    private void readNewLines(List<StepEvent> steps, int max) {
        Path file = file(stage);
        try {
            BasicFileAttributes attributes;
            try {
                attributes = Files.readAttributes(file, BasicFileAttributes.class);
            } catch (NoSuchFileException e) {
                return;
            }
            if (!Objects.equals(attributes.fileKey(), fileKey) || attributes.size() < offset) {
                fileKey = attributes.fileKey();
                offset = 0;
            }
            if (attributes.size() == offset) {
                return;
            }
            ByteBuffer buffer = ByteBuffer.allocate((int) Math.min(attributes.size() - offset, MAX_READ));
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
                channel.read(buffer, offset);
            }
            int end = buffer.position();
            int start = 0;
            for (int i = 0; i < end && steps.size() < max; i++) {
                if (buffer.get(i) == '\n') {
                    String line = new String(buffer.array(), start, i - start, StandardCharsets.UTF_8);
                    start = i + 1;
                    StepEvent step = parse(line);
                    if (step != null && step.step() > lastStep) {
                        steps.add(step);
                        lastStep = step.step();
                    }
                }
            }
            offset += start;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private StepEvent parse(String line) {
        JsonNode m;
        try {
            m = JSON.readTree(line);
        } catch (JacksonException e) {
            return null;
        }
        if (m == null || !m.path("step").isNumber()) {
            return null;
        }
        long stageStep = m.path("step").asLong();
        return new StepEvent(stepsBefore[stage] + stageStep, stage, stageStep, m.path("loss").asDouble(),
                m.path("grad_norm").asDouble(), m.path("lr").asDouble(), m.path("tokens").asLong(),
                m.path("tokens_per_s").asDouble());
    }

    private Path file(int k) {
        return TrainingProgress.metricsFile(workDir, k);
    }
}
