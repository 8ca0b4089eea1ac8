package io.easycontext.service.execution;

import java.util.function.Consumer;

import io.easycontext.runtime.spec.TrainSpec;
import io.easycontext.runtime.train.CancellationToken;
import io.easycontext.runtime.train.Checkpointing;
import io.easycontext.runtime.train.DataSource;
import io.easycontext.runtime.train.DistributedTrainer;
import io.easycontext.runtime.train.StepMetrics;
import io.easycontext.runtime.train.TrainConfig;
import io.easycontext.runtime.train.WeightsSnapshot;
import org.springframework.stereotype.Component;

/**
 * Where a TRAIN job meets the runtime: each run's config, and the training of one. There is one implementation, the
 * runtime's own; the interface is the seam where tests without GPUs stand CPU ranks in for a GPU job's GPUs, after
 * everything the service decides about them (which GPUs, the spec the runtime gets, cancellation, release).
 */
interface TrainingRuntime {

    /**
     * The run as the trainer takes it, checked as the CLI checks it, here: on GPUs, that this machine has them.
     *
     * @throws io.easycontext.runtime.spec.InvalidSpecException naming each field that cannot run, e.g. devices
     */
    TrainConfig configure(TrainSpec run);

    /**
     * {@link DistributedTrainer#train(TrainConfig, DataSource, Consumer, CancellationToken, WeightsSnapshot, boolean,
     * Checkpointing)}: returns, or throws, once every rank has ended and freed its device.
     */
    DistributedTrainer.Result train(TrainConfig config, DataSource data, Consumer<StepMetrics> onStep,
            CancellationToken cancellation, WeightsSnapshot initialWeights, boolean keepFinalWeights,
            Checkpointing checkpointing);

    /** The runtime's: the CLI's own checks, and its trainer. */
    @Component
    class Distributed implements TrainingRuntime {

        @Override
        public TrainConfig configure(TrainSpec run) {
            return run.toTrainConfig();
        }

        @Override
        public DistributedTrainer.Result train(TrainConfig config, DataSource data, Consumer<StepMetrics> onStep,
                CancellationToken cancellation, WeightsSnapshot initialWeights, boolean keepFinalWeights,
                Checkpointing checkpointing) {
            return DistributedTrainer.train(config, data, onStep, cancellation, initialWeights, keepFinalWeights,
                    checkpointing);
        }
    }
}
