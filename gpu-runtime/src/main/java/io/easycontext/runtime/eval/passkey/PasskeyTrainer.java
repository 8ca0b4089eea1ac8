package io.easycontext.runtime.eval.passkey;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.comm.Communicator;
import io.easycontext.runtime.comm.RankDevices;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.optim.AdamW;
import io.easycontext.runtime.parallel.ParallelConfig;
import io.easycontext.runtime.train.DataSource;
import io.easycontext.runtime.train.DistributedTrainer;
import io.easycontext.runtime.train.TrainConfig;

/**
 * One rank's part of a passkey stage, as a training run of its own ({@link DistributedTrainer#trainInPlace}): one
 * sequence-parallel group takes each batch, and its weights outlive the stage, on any backend, the GPU's included.
 */
final class PasskeyTrainer {

    /** What a stage reports after each optimizer step, on every rank alike. */
    @FunctionalInterface
    interface StepListener {
        void onStep(int step, double loss, double gradNorm);
    }

    /** The gradient's norm is clipped to 1; AdamW keeps its defaults. */
    private static final double MAX_GRAD_NORM = 1.0;

    private PasskeyTrainer() {
    }

    /**
     * Trains {@code weights} (of {@code model}'s shape) in place for {@code stage.steps()} steps on sequences
     * {@code firstSample}, … of {@code data}; every rank of {@code world}, that of {@code devices}, calls it together.
     */
    static void train(Backend backend, Communicator world, RankDevices devices, ParallelConfig parallel,
                      LlamaWeights weights, DataSource data, long firstSample, PasskeyStage stage, long seed,
                      StepListener listener) {
        // Tiny models: keeping the activations costs little and saves the recomputation.
        TrainConfig config = new TrainConfig(weights.config(), parallel, stage.seqLength(), stage.batchSize(), 1,
                stage.steps(), stage.learningRate(), stage.warmupSteps(), AdamW.Hyper.DEFAULTS.weightDecay(),
                MAX_GRAD_NORM, seed, devices, false);
        DistributedTrainer.trainInPlace(config, from(data, firstSample), backend, world, weights,
                m -> listener.onStep(m.step(), m.loss(), m.gradNorm()));
    }

    /** {@code data} from sequence {@code first} on: the second stage goes on where the first stopped. */
    private static DataSource from(DataSource data, long first) {
        return new DataSource() {
            @Override
            public Sample sample(long index, int seqLength) {
                return data.sample(first + index, seqLength);
            }

            @Override
            public String describe() {
                return data.describe();
            }
        };
    }
}
