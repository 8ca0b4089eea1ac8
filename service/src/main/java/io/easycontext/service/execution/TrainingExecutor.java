package io.easycontext.service.execution;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import io.easycontext.runtime.backend.cpu.CpuBackend;
import io.easycontext.runtime.hf.HfModelDir;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.spec.InvalidSpecException;
import io.easycontext.runtime.spec.TrainSpec;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.train.DataSource;
import io.easycontext.runtime.train.DistributedTrainer;
import io.easycontext.runtime.train.TrainConfig;
import io.easycontext.runtime.train.WeightsSnapshot;
import io.easycontext.service.execution.StageCheckpoints.ResumePoint;
import io.easycontext.service.job.JobKind;
import io.easycontext.service.job.JobReason;
import org.springframework.stereotype.Component;

/**
 * TRAIN jobs, in process, on the GPUs the job holds (its spec's devices) or simulated ranks of the CPU backend,
 * stage after stage: each stage is the run its command line describes, started from the weights the previous stage
 * ended with (a fresh optimizer, as EasyContext's progressive recipe restarts its script on the previous stage's
 * output), and checkpointed as that command line's {@code --output-dir} would be.
 * The weights pass between stages in memory; an attempt after a restart starts from the checkpoints instead, in
 * the stage and at the step the last one reached, and computes exactly the steps the interrupted attempt would have.
 */
@Component
class TrainingExecutor implements JobExecutor {

    private final CheckpointProperties checkpoints;
    private final TrainingRuntime runtime;

    TrainingExecutor(CheckpointProperties checkpoints, TrainingRuntime runtime) {
        this.checkpoints = checkpoints;
        this.runtime = runtime;
    }

    @Override
    public JobKind kind() {
        return JobKind.TRAIN;
    }

    @Override
    public boolean runsOnGpus() {
        return true;
    }

    @Override
    public String execute(JobExecution execution) {
        TrainSpec spec = (TrainSpec) execution.spec();
        List<TrainSpec> stages = spec.runs();
        List<TrainConfig> configs = stages.stream().map(this::configOf).toList();
        HfModelDir source = modelDirectory(spec.model());
        StageCheckpoints saved = new StageCheckpoints(execution.workDir(), stages, checkpoints.keepLast(),
                source == null ? null : source.rawConfig());
        ResumePoint from = saved.resumePoint();
        try (TrainingProgress progress = execution.trainingProgress(configs)) {
            WeightsSnapshot weights = startingWeights(from, saved, source, configs.get(0));
            for (int k = from.stage(); k < stages.size(); k++) {
                TrainConfig config = configs.get(k);
                long resumed = k == from.stage() ? from.step() : 0;
                DataSource data = stages.get(k).openDataset(config.model().vocabSize());
                execution.log(String.format(Locale.ROOT, "stage %d/%d: %s, seq %d, rope theta %.6g, %d steps at lr %.3g, %s%s",
                        k + 1, stages.size(), config.parallel(), config.seqLength(), config.model().ropeTheta(),
                        config.maxTrainSteps(), config.learningRate(), data.describe(), resumption(saved, from, k)));
                progress.stageStarted(k, resumed);
                boolean handOn = k < stages.size() - 1;
                DistributedTrainer.Result result = runtime.train(config, data, progress::step,
                        execution.cancellation(), weights, handOn, saved.manager(k, resumed > 0));
                weights = result.finalWeights();
            }
            return String.format(Locale.ROOT, "%d steps in %d stage(s), %,d tokens; final loss %.4f",
                    progress.steps(), stages.size(), progress.tokens(), progress.lastLoss());
        }
    }

    /** A stage that resumes restores its weights with its optimizer; one that starts needs them handed in. */
    private static WeightsSnapshot startingWeights(ResumePoint from, StageCheckpoints saved, HfModelDir source,
            TrainConfig first) {
        if (from.step() > 0) {
            return null;
        }
        return from.stage() > 0 ? saved.finalWeights(from.stage() - 1) : loadedWeights(source, first);
    }

    /** What the stage's log line adds when an earlier attempt's checkpoints decide where it starts. */
    private static String resumption(StageCheckpoints saved, ResumePoint from, int k) {
        if (k != from.stage() || from.equals(ResumePoint.START)) {
            return "";
        }
        return from.step() > 0
                ? String.format(Locale.ROOT, "; resuming from %s, %d steps done", saved.describeLatest(k), from.step())
                : "; starting from the weights of " + saved.describeLatest(k - 1);
    }

    /** The model's directory where {@code model} names one rather than a preset; its config and maybe weights. */
    private static HfModelDir modelDirectory(String model) {
        try {
            return Files.isDirectory(Path.of(model)) ? HfModelDir.open(Path.of(model)) : null;
        } catch (InvalidPathException e) {
            return null;
        }
    }

    /** A Hugging Face model's weights, which the CLI starts from too; null draws them from the seed. */
    private static WeightsSnapshot loadedWeights(HfModelDir source, TrainConfig config) {
        if (source == null || !source.hasWeights()) {
            return null;
        }
        try (CpuBackend cpu = new CpuBackend(DType.F32);
             LlamaWeights weights = source.load(cpu, config.model().ropeTheta())) {
            return WeightsSnapshot.of(cpu, weights);
        }
    }

    /**
     * The spec was valid at submission; what can have changed since is the model on disk (a directory removed or
     * its config rewritten), which is the model's fault rather than the service's. GPUs were counted against the
     * node's at submission, and are checked here against the driver's: a node configured with GPUs it does not
     * have fails its GPU jobs as INTERNAL, naming the devices.
     */
    private TrainConfig configOf(TrainSpec stage) {
        try {
            return runtime.configure(stage);
        } catch (InvalidSpecException e) {
            boolean model = e.violations().stream().anyMatch(v -> v.field().equals("model"));
            throw new JobFailedException(model ? JobReason.INVALID_MODEL : JobReason.INTERNAL, e.getMessage(), e);
        }
    }
}
