package io.easycontext.service.execution;

import java.util.List;
import java.util.Locale;

import io.easycontext.runtime.spec.InvalidSpecException;
import io.easycontext.runtime.spec.TrainSpec;
import io.easycontext.runtime.train.DataSource;
import io.easycontext.runtime.train.DistributedTrainer;
import io.easycontext.runtime.train.TrainConfig;
import io.easycontext.runtime.train.WeightsSnapshot;
import io.easycontext.service.job.JobKind;
import io.easycontext.service.job.JobReason;
import org.springframework.stereotype.Component;

/**
 * TRAIN jobs, in process, stage after stage: each stage is the run its command line describes, started from the
 * weights the previous stage ended with (a fresh optimizer, as EasyContext's progressive recipe restarts its
 * script on the previous stage's output). The weights pass between stages in memory, so a job that a restart
 * interrupts starts again from its first stage.
 */
@Component
class TrainingExecutor implements JobExecutor {

    @Override
    public JobKind kind() {
        return JobKind.TRAIN;
    }

    /** The runtime's trainer runs simulated ranks on the CPU backend; CUDA devices come with its GPU trainer. */
    @Override
    public boolean runsOnGpus() {
        return false;
    }

    @Override
    public String execute(JobExecution execution) {
        List<TrainSpec> stages = ((TrainSpec) execution.spec()).runs();
        List<TrainConfig> configs = stages.stream().map(TrainingExecutor::configOf).toList();
        double lastLoss = Double.NaN;
        try (TrainingProgress progress = execution.trainingProgress(stages)) {
            WeightsSnapshot weights = null;
            for (int k = 0; k < stages.size(); k++) {
                TrainSpec stage = stages.get(k);
                TrainConfig config = configs.get(k);
                DataSource data = stage.openDataset(config.model().vocabSize());
                execution.log(String.format(Locale.ROOT, "stage %d/%d: %s, seq %d, rope theta %.6g, %d steps at lr %.3g, %s",
                        k + 1, stages.size(), config.parallel(), config.seqLength(), config.model().ropeTheta(),
                        config.maxTrainSteps(), config.learningRate(), data.describe()));
                progress.stageStarted(k, config);
                boolean handOn = k < stages.size() - 1;
                DistributedTrainer.Result result = DistributedTrainer.train(config, data, progress::step,
                        execution.cancellation(), weights, handOn);
                weights = result.finalWeights();
                lastLoss = result.steps().get(result.steps().size() - 1).loss();
            }
            return String.format(Locale.ROOT, "%d steps in %d stage(s), %,d tokens; final loss %.4f",
                    progress.steps(), stages.size(), progress.tokens(), lastLoss);
        }
    }

    /**
     * The spec was valid at submission; what can have changed since is the model on disk (a directory removed or
     * its config rewritten), which is the model's fault rather than the service's.
     */
    private static TrainConfig configOf(TrainSpec stage) {
        try {
            return stage.toTrainConfig();
        } catch (InvalidSpecException e) {
            boolean model = e.violations().stream().anyMatch(v -> v.field().equals("model"));
            throw new JobFailedException(model ? JobReason.INVALID_MODEL : JobReason.INTERNAL, e.getMessage(), e);
        }
    }
}
