package io.easycontext.service.execution;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.easycontext.runtime.backend.cpu.CpuBackend;
import io.easycontext.runtime.checkpoint.CheckpointManager;
import io.easycontext.runtime.hf.HfModelDir;
import io.easycontext.runtime.io.SafetensorsDType;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.spec.TrainSpec;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.train.WeightsSnapshot;

/**
 * A TRAIN job's checkpoints: stage K writes to {@code <job dir>/checkpoints/stage-K}, the {@code --output-dir} of
 * its command line, so each stage's directory holds what the CLI leaves there (its {@code checkpoint-*}
 * directories, the newest {@code keepLast} of them, and the stage's final model in Hugging Face layout). From them
 * an attempt learns where the previous one got to.
 */
final class StageCheckpoints {

    /** The final model's weight type: the CLI's {@code --save-dtype} default. */
    private static final SafetensorsDType FINAL_DTYPE = SafetensorsDType.BF16;

    /**
     * Where an attempt starts: stage {@code stage}, with {@code step} of its steps done. A stage with steps done
     * continues from its own newest checkpoint; a later stage with none starts from the weights of the previous
     * stage's last checkpoint, which are exactly those it would have been handed in memory.
     */
    record ResumePoint(int stage, long step) {

        static final ResumePoint START = new ResumePoint(0, 0);
    }

    private final Path workDir;
    private final List<TrainSpec> stages;
    private final int keepLast;
    private final ObjectNode baseConfig;

    /** @param baseConfig the config.json of the model trained, whose extra fields the saved models keep; or null */
    StageCheckpoints(Path workDir, List<TrainSpec> stages, int keepLast, ObjectNode baseConfig) {
        this.workDir = workDir;
        this.stages = List.copyOf(stages);
        this.keepLast = keepLast;
        this.baseConfig = baseConfig;
    }

    /** After the newest checkpoint of the latest stage that has one; the start when there is none. */
    ResumePoint resumePoint() {
        for (int k = stages.size() - 1; k >= 0; k--) {
            Optional<Path> latest = latest(k);
            if (latest.isPresent()) {
                long step = CheckpointManager.step(latest.get());
                boolean stageDone = step == stages.get(k).maxTrainSteps();
                return stageDone && k < stages.size() - 1 ? new ResumePoint(k + 1, 0) : new ResumePoint(k, step);
            }
        }
        return ResumePoint.START;
    }

    /** Saves stage {@code k} and its final model; with {@code resume}, first restores its newest checkpoint. */
    CheckpointManager manager(int k, boolean resume) {
        return new CheckpointManager(new CheckpointManager.Options(dir(k), stages.get(k).checkpointEvery(), keepLast,
                resume ? "latest" : null, FINAL_DTYPE, baseConfig));
    }

    /** The weights stage {@code k} ended with, as the next stage starts from them. */
    WeightsSnapshot finalWeights(int k) {
        Path model = CheckpointManager.modelDir(latest(k).orElseThrow(() -> new IllegalStateException(
                "stage " + k + " has no checkpoint in " + dir(k))));
        // Float32 on the host, as a stage hands its weights on in memory: reading the run's precision into floats
        // rounds each value as that hand-on does.
        try (CpuBackend cpu = new CpuBackend(DType.F32);
             LlamaWeights weights = HfModelDir.open(model).load(cpu, null)) {
            return WeightsSnapshot.of(cpu, weights);
        }
    }

    /** The newest checkpoint of stage {@code k}, relative to the job's directory, for the log. */
    String describeLatest(int k) {
        return latest(k).map(p -> workDir.relativize(p).toString()).orElse("no checkpoint");
    }

    private Optional<Path> latest(int k) {
        return CheckpointManager.latest(dir(k));
    }

    private Path dir(int k) {
        return workDir.resolve(TrainSpec.outputDir(k));
    }
}
