package io.easycontext.runtime.train;

import io.easycontext.runtime.comm.ReduceOp;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Trains on the ranks of {@link TrainConfig#devices()}, one thread each: simulated ranks of the CPU backend
 * ({@code cpu:N}) or one rank per GPU over NCCL ({@code cuda:0,1,…}). Every rank builds its replica, and all of them
 * run {@link TrainConfig#maxTrainSteps()} optimizer steps together.
 */
public final class DistributedTrainer {

    private DistributedTrainer() {
    }

    /**
     * Runs the training and returns each step's metrics; {@code onStep} sees them as they happen (on rank 0's thread).
     * The metrics are the same on every rank, so rank 0 reports them.
     */
    public static List<StepMetrics> train(TrainConfig config, DataSource data, Consumer<StepMetrics> onStep) {
        return train(config, data, onStep, CancellationToken.NONE, null, false).steps();
    }

    /** What a run leaves: its steps' metrics and, where asked for, its final weights (else null). */
    public record Result(List<StepMetrics> steps, WeightsSnapshot finalWeights) {
    }

    /**
     * {@link #train(TrainConfig, DataSource, Consumer)} that starts from {@code initialWeights} (null: from the
     * seed), stops between steps when {@code cancellation} asks (throwing {@link TrainingCancelledException}), and
     * with {@code keepFinalWeights} returns the final weights too (the stages of a progressive training hand them on).
     */
    public static Result train(TrainConfig config, DataSource data, Consumer<StepMetrics> onStep,
            CancellationToken cancellation, WeightsSnapshot initialWeights, boolean keepFinalWeights) {
        return train(config, data, onStep, cancellation, initialWeights, keepFinalWeights, Checkpointing.NONE);
    }

    /**
     * As above, with {@code checkpointing} asked to restore a saved state before the first step (the run then goes
     * on from the step it had reached) and to save after every step.
     */
    public static Result train(TrainConfig config, DataSource data, Consumer<StepMetrics> onStep,
            CancellationToken cancellation, WeightsSnapshot initialWeights, boolean keepFinalWeights,
            Checkpointing checkpointing) {
        List<Result> perRank = config.devices().run((backend, world) -> {
            List<StepMetrics> steps = new ArrayList<>();
            try (RankTrainer trainer = new RankTrainer(config, data, backend, world, initialWeights)) {
                int first = Math.toIntExact(checkpointing.restore(trainer));
                for (int step = first; step < config.maxTrainSteps(); step++) {
                    // Rank 0 decides, and every rank learns it from one scalar all-reduce, so that all stop together.
                    boolean stop = world.rank() == 0 && cancellation.isCancellationRequested();
                    if (world.allReduce(stop ? 1 : 0, ReduceOp.MAX) > 0) {
                        throw new TrainingCancelledException(step);
                    }
                    StepMetrics m = trainer.step(step);
                    steps.add(m);
                    if (world.rank() == 0) {
                        onStep.accept(m);
                    }
                    checkpointing.afterStep(trainer, step + 1);
                }
                WeightsSnapshot last = keepFinalWeights && world.rank() == 0
                        ? WeightsSnapshot.of(trainer.backend(), trainer.weights()) : null;
                return new Result(steps, last);
            }
        });
        return perRank.get(0);
    }
}
