package io.easycontext.runtime.eval.passkey;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.comm.Communicator;
import io.easycontext.runtime.comm.ReduceOp;
import io.easycontext.runtime.model.LlamaModel;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.optim.AdamW;
import io.easycontext.runtime.optim.LrSchedule;
import io.easycontext.runtime.optim.Optimizer;
import io.easycontext.runtime.parallel.GradientSync;
import io.easycontext.runtime.parallel.ParallelConfig;
import io.easycontext.runtime.parallel.ParallelRank;
import io.easycontext.runtime.train.DataSource;

/**
 * One rank's part of a passkey stage: every rank takes the same batch, keeps its shard, runs forward and backward
 * through its mode's attention, and the gradients are summed over the world before one AdamW step (the reduction of
 * {@code DistributedTrainer}, here on weights that outlive the stage and on any backend, the GPU's included).
 */
final class PasskeyTrainer {

    /** What a stage reports after each optimizer step, on every rank alike. */
    @FunctionalInterface
    interface StepListener {
        void onStep(int step, double loss, double gradNorm);
    }

    private PasskeyTrainer() {
    }

    /**
     * Trains {@code weights} in place for {@code stage.steps()} steps on sequences {@code firstSample}, … of
     * {@code data}.
     */
    static void train(Backend backend, Communicator world, ParallelConfig parallel, LlamaWeights weights,
                      DataSource data, long firstSample, PasskeyStage stage, StepListener listener) {
        int b = stage.batchSize();
        int t = stage.seqLength();
        ParallelRank rank = ParallelRank.create(world, parallel, t);
        // Tiny models: keeping the activations costs little and saves the recomputation.
        LlamaModel model = new LlamaModel(weights, new LlamaModel.Options(false, LlamaModel.Options.DEFAULTS.lossChunkTokens()));
        int[] positions = rank.positionIds(b);
        try (Optimizer optimizer = new Optimizer(backend, weights.parameters(), AdamW.Hyper.DEFAULTS,
                LrSchedule.warmupConstant(stage.learningRate(), stage.warmupSteps()), 1.0)) {
            for (int step = 0; step < stage.steps(); step++) {
                int[] ids = new int[b * t];
                int[] targets = new int[b * t];
                for (int row = 0; row < b; row++) {
                    DataSource.Sample s = data.sample(firstSample + (long) step * b + row, t);
                    System.arraycopy(s.inputIds(), 0, ids, row * t, t);
                    System.arraycopy(s.targets(), 0, targets, row * t, t);
                }
                int[] localTargets = rank.shard(targets, b);
                long count = GradientSync.globalTargetCount(world, LlamaModel.countTargets(localTargets));
                double loss = model.forwardBackward(backend, rank.shard(ids, b), positions, localTargets, b, count,
                        rank.attention());
                GradientSync.allReduce(world, weights.parameters());
                Optimizer.Update update = optimizer.step(backend);
                listener.onStep(step + 1, world.allReduce(loss, ReduceOp.SUM) / count, update.gradNorm());
            }
        }
    }
}
