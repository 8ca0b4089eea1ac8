package io.easycontext.runtime.train;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.comm.Communicator;
import io.easycontext.runtime.comm.ReduceOp;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.profile.OpProfile;
import io.easycontext.runtime.profile.ProfileReport;

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
        return train(config, data, onStep, cancellation, initialWeights, keepFinalWeights, checkpointing, null);
    }

    /**
     * As above, with every rank's ops timed ({@link OpProfile}) where {@code profiles} is not null: each rank's
     * profile of each step goes there, from that rank's thread. The numbers are those of a run without it.
     */
    public static Result train(TrainConfig config, DataSource data, Consumer<StepMetrics> onStep,
            CancellationToken cancellation, WeightsSnapshot initialWeights, boolean keepFinalWeights,
            Checkpointing checkpointing, StepProfiles profiles) {
        List<Result> perRank = config.devices().run((device, world) -> {
            // A null resource is skipped: without profiles the rank trains on its backend as it is.
            try (OpProfile profile = profiles == null ? null : OpProfile.of(device);
                 RankTrainer trainer = new RankTrainer(config, data, profile == null ? device : profile.backend(),
                         world, initialWeights)) {
                List<StepMetrics> steps = steps(trainer, world.rank() == 0 ? onStep : m -> { }, cancellation,
                        checkpointing, profile, profiles);
                WeightsSnapshot last = null;
                if (keepFinalWeights) {
                    // Collective: under ZeRO-3 every rank gathers its shards for rank 0.
                    try (RankState.WholeWeights whole = trainer.wholeWeights(0)) {
                        if (world.rank() == 0) {
                            last = WeightsSnapshot.of(whole.backend(), whole.weights());
                        }
                    }
                }
                return new Result(steps, last);
            }
        });
        return perRank.get(0);
    }

    /**
     * One rank's part of a run on weights that outlive it: trains {@code weights} in place, from the first sequence
     * of {@code data}, for {@link TrainConfig#maxTrainSteps()} steps with a fresh, replicated optimizer. Every rank
     * of {@code world}, which must be that of {@link TrainConfig#devices()}, calls it together on the backend its
     * thread opened, and {@code onStep} sees the steps on every rank.
     */
    public static List<StepMetrics> trainInPlace(TrainConfig config, DataSource data, Backend backend,
            Communicator world, LlamaWeights weights, Consumer<StepMetrics> onStep) {
        try (RankTrainer trainer = RankTrainer.onWeights(config, data, backend, world, weights)) {
            return steps(trainer, onStep, CancellationToken.NONE, Checkpointing.NONE, null, null);
        }
    }

    /**
     * The training loop of every run, on one rank: its steps' metrics, each also to {@code onStep}, and where
     * {@code profile} is not null (the trainer's backend is its wrapper) each step's ops to {@code profiles}.
     */
    private static List<StepMetrics> steps(RankTrainer trainer, Consumer<StepMetrics> onStep,
            CancellationToken cancellation, Checkpointing checkpointing, OpProfile profile, StepProfiles profiles) {
        Communicator world = trainer.world();
        List<StepMetrics> steps = new ArrayList<>();
        int first = Math.toIntExact(checkpointing.restore(trainer));
        for (int step = first; step < trainer.config().maxTrainSteps(); step++) {
            // Rank 0 decides, and every rank learns it from one scalar all-reduce, so that all stop together.
            boolean stop = world.rank() == 0 && cancellation.isCancellationRequested();
            if (world.allReduce(stop ? 1 : 0, ReduceOp.MAX) > 0) {
                throw new TrainingCancelledException(step);
            }
            if (profile != null) {
                profile.reset();
            }
            StepMetrics m = trainer.step(step);
            // Taken before onStep reports the step, so that the profile's wall time is the step's alone.
            ProfileReport ops = profile == null ? null : profile.report();
            steps.add(m);
            onStep.accept(m);
            if (ops != null) {
                profiles.accept(world.rank(), m.step(), ops);
            }
            checkpointing.afterStep(trainer, step + 1);
        }
        return steps;
    }
}
