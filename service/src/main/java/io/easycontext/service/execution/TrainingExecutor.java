package io.easycontext.service.execution;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import io.easycontext.runtime.backend.cpu.CpuBackend;
import io.easycontext.runtime.hf.HfModelDir;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.plan.MemoryFit;
import io.easycontext.runtime.plan.MemoryPlanner;
import io.easycontext.runtime.plan.NodeMemory;
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
import io.easycontext.service.node.NodeGpus;
import io.easycontext.service.node.NodeHostMemory;
import io.easycontext.service.plan.TrainingPlan;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
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

    private static final Logger log = LoggerFactory.getLogger(TrainingExecutor.class);
    private static final double GIB = 1L << 30;

    private final CheckpointProperties checkpoints;
    private final TrainingRuntime runtime;
    private final NodeGpus gpus;
    private final NodeHostMemory host;

    TrainingExecutor(CheckpointProperties checkpoints, TrainingRuntime runtime, NodeGpus gpus, NodeHostMemory host) {
        this.checkpoints = checkpoints;
        this.runtime = runtime;
        this.gpus = gpus;
        this.host = host;
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
        // parallelMode auto becomes the mode admission planned: the same pool and host memory decide it.
        List<TrainSpec> stages = spec.runs().stream().map(s -> TrainingPlan.pool(s, gpus.memoryBytes())
                .map(pool -> TrainingPlan.resolved(s, pool, host.bytes())).orElse(s)).toList();
        List<TrainConfig> configs = new ArrayList<>(stages.size());
        for (int k = 0; k < stages.size(); k++) {
            configs.add(fitted(configOf(stages.get(k)), stages.get(k), k, stages.size(), execution));
        }
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

    /**
     * With {@code autoMemory}, the stage with the memory options the planner chooses for the GPUs it holds, as the
     * CLI's {@code train --auto-memory} chooses them ({@link MemoryFit}), written to the job's log; as it was without.
     * A rank's memory is the node's, as admission checked it: the same pool, so the choice admission counted on is the
     * one made here, unless the node's memory changed in between, which fails the job before any work.
     */
    private TrainConfig fitted(TrainConfig config, TrainSpec stage, int k, int stages, JobExecution execution) {
        if (!stage.autoMemory()) {
            return config;
        }
        // The pool admission planned with; for configured GPUs whose memory nobody gave, the driver's, for a run that
        // has them (configure checked it).
        long device = TrainingPlan.pool(stage, gpus.memoryBytes()).map(TrainingPlan.Pool::bytes)
                .orElseGet(() -> NodeMemory.devicePerRank(config.devices()));
        MemoryFit fit = MemoryFit.of(config, true, device, host.bytes());
        String stageName = "stage " + (k + 1) + "/" + stages;
        if (fit.chosen().isEmpty()) {
            throw new JobFailedException(JobReason.OUT_OF_MEMORY, String.format(Locale.ROOT,
                    "%s does not fit the GPUs: needs %.2f GiB per GPU as given, %.2f GiB available; %s", stageName,
                    fit.asGiven().total() / GIB, device / GIB, fit.noChoiceRemedy("seqLength", "optimizerMoments")));
        }
        MemoryPlanner.Choice c = fit.chosen().get();
        String line = String.format(Locale.ROOT, "%s: autoMemory chose %s: %.2f GiB per GPU of %.2f GiB, %.2f GiB "
                + "of host memory per GPU", stageName, c.options().fields(), c.estimate().total() / GIB, device / GIB,
                c.estimate().hostMemory() / GIB);
        log.info("Job {}: {}", execution.jobId(), line);
        execution.log(line);
        return fit.config();
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
