package io.easycontext.runtime.train;

import io.easycontext.runtime.comm.InProcessRanks;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Trains on {@code N} simulated ranks of the CPU backend, one thread each ({@code --devices cpu:N}): every rank builds
 * its replica, and all of them run {@link TrainConfig#maxTrainSteps()} optimizer steps together.
 */
public final class DistributedTrainer {

    private DistributedTrainer() {
    }

    /**
     * Runs the training and returns each step's metrics; {@code onStep} sees them as they happen (on rank 0's thread).
     * The metrics are the same on every rank, so rank 0 reports them.
     */
    public static List<StepMetrics> train(TrainConfig config, DataSource data, Consumer<StepMetrics> onStep) {
        List<List<StepMetrics>> perRank = InProcessRanks.run(config.parallel().worldSize(), world -> {
            List<StepMetrics> steps = new ArrayList<>();
            try (RankTrainer trainer = new RankTrainer(config, data, world)) {
                for (int step = 0; step < config.maxTrainSteps(); step++) {
                    StepMetrics m = trainer.step(step);
                    steps.add(m);
                    if (world.rank() == 0) {
                        onStep.accept(m);
                    }
                }
            }
            return steps;
        });
        return perRank.get(0);
    }
}
