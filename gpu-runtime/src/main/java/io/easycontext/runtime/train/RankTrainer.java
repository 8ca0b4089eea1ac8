package io.easycontext.runtime.train;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.comm.Communicator;
import io.easycontext.runtime.comm.ReduceOp;
import io.easycontext.runtime.model.LlamaModel;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.optim.AdamW;
import io.easycontext.runtime.optim.LrSchedule;
import io.easycontext.runtime.optim.Optimizer;
import io.easycontext.runtime.optim.TrainingOptimizer;
import io.easycontext.runtime.optim.zero.ShardedOptimizer;
import io.easycontext.runtime.optim.zero.Sharding;
import io.easycontext.runtime.parallel.GradientSync;
import io.easycontext.runtime.parallel.ParallelRank;

/**
 * One rank's replica and its part of every optimizer step: it builds the same weights as every other rank from the
 * seed, takes the same global micro-batches, keeps its shard, and runs forward and backward through its mode's
 * attention; then the reductions of {@link GradientSync} make its gradient the whole step's. With the optimizer
 * sharded (ZeRO), the parameters live in flat buffers and the gradients stay local until the optimizer's own
 * reduce-scatter.
 */
final class RankTrainer implements RankState, AutoCloseable {

    /** The step's mean loss and its target count, equal on every rank once the gradients are reduced. */
    record Gradients(double loss, long targets) {
    }

    private final TrainConfig config;
    private final DataSource data;
    private final Backend backend;
    private final ParallelRank rank;
    private final LlamaWeights weights;
    private final LlamaModel model;
    private final BatchPlan plan;
    private final TrainingOptimizer optimizer;

    /**
     * Collective over {@code world}: every rank constructs its trainer together, on the backend its thread opened
     * (which outlives the trainer), from {@code initialWeights} or, where null, the seed.
     */
    RankTrainer(TrainConfig config, DataSource data, Backend backend, Communicator world,
                WeightsSnapshot initialWeights) {
        this.config = config;
        this.data = data;
        this.backend = backend;
        this.rank = ParallelRank.create(world, config.parallel(), config.seqLength());
        Sharding sharding = config.sharding();
        this.weights = sharding.sharded()
                ? LlamaWeights.initializeFlat(backend, config.model(), config.seed(), rank.world().size())
                : LlamaWeights.initialize(backend, config.model(), config.seed());
        // Before the optimizer: its master weights start as copies of the parameters.
        if (initialWeights != null) {
            initialWeights.loadInto(backend, weights);
        }
        this.model = new LlamaModel(weights, new LlamaModel.Options(config.activationCheckpointing(),
                LlamaModel.Options.DEFAULTS.lossChunkTokens()).withOffloadedCheckpoints(config.offloadedCheckpoints()));
        this.plan = new BatchPlan(config.batchSize(), config.parallel().dpDegree(), config.gradientAccumulation());
        AdamW.Hyper hyper = new AdamW.Hyper(AdamW.Hyper.DEFAULTS.beta1(), AdamW.Hyper.DEFAULTS.beta2(),
                AdamW.Hyper.DEFAULTS.eps(), config.weightDecay());
        LrSchedule schedule = LrSchedule.warmupConstant(config.learningRate(), config.warmupSteps());
        this.optimizer = sharding.sharded()
                ? new ShardedOptimizer(backend, rank.world(), weights.flat().orElseThrow(), weights.parameters(), hyper,
                        schedule, config.maxGradNorm(), sharding.offload())
                : new Optimizer(backend, weights.parameters(), hyper, schedule, config.maxGradNorm());
    }

    @Override
    public TrainConfig config() {
        return config;
    }

    @Override
    public DataSource data() {
        return data;
    }

    @Override
    public LlamaWeights weights() {
        return weights;
    }

    @Override
    public Backend backend() {
        return backend;
    }

    @Override
    public TrainingOptimizer optimizer() {
        return optimizer;
    }

    @Override
    public Communicator world() {
        return rank.world();
    }

    /**
     * Forward and backward over this rank's shard of every micro-batch of optimizer step {@code step} (from 0), then
     * the gradients summed over the world. Leaves in every parameter's gradient that of the step's mean loss; with a
     * sharded optimizer, this rank's own part of it, which the optimizer's step sums.
     */
    Gradients computeGradients(long step) {
        int b = config.batchSize();
        int[] positions = rank.positionIds(b);
        int[][] ids = new int[config.gradientAccumulation()][];
        int[][] targets = new int[config.gradientAccumulation()][];
        long localTargets = 0;
        for (int a = 0; a < ids.length; a++) {
            BatchPlan.MicroBatch micro = plan.microBatch(data, config.seqLength(), step, a, rank.dpRank());
            ids[a] = rank.shard(micro.inputIds(), b);
            targets[a] = rank.shard(micro.targets(), b);
            localTargets += LlamaModel.countTargets(targets[a]);
        }
        // The model normalises by the whole step's target count, so it must be known before the first backward.
        long globalTargets = GradientSync.globalTargetCount(rank.world(), localTargets);
        if (globalTargets == 0) {
            throw new IllegalStateException("step " + (step + 1) + " has no targets that carry a loss");
        }
        weights.zeroGradients(backend);
        double lossSum = 0;
        for (int a = 0; a < ids.length; a++) {
            lossSum += model.forwardBackward(backend, ids[a], positions, targets[a], b, globalTargets, rank.attention());
        }
        if (!config.sharding().sharded()) {
            GradientSync.allReduce(rank.world(), weights.parameters());
        }
        double globalLoss = rank.world().allReduce(lossSum, ReduceOp.SUM);
        return new Gradients(globalLoss / globalTargets, globalTargets);
    }

    /**
     * Clips and applies AdamW from the reduced gradients. Replicated, every rank holds the same gradients, so every
     * rank computes the same norm and the same update, and the replicas stay identical without a broadcast; sharded,
     * each rank updates its shard and the all-gather makes the replicas identical.
     */
    Optimizer.Update update() {
        return optimizer.step(backend);
    }

    /** One whole optimizer step {@code step} (from 0), timed from its first micro-batch to its update. */
    StepMetrics step(long step) {
        long start = System.nanoTime();
        backend.resetPeakDeviceBytes();
        Gradients g = computeGradients(step);
        Optimizer.Update u = update();
        // The slowest rank decides the step time, the fullest rank the memory: maxima, the same on every rank.
        double[] maxima = rank.world().allReduce(new double[]{(System.nanoTime() - start) / 1e9,
                backend.peakDeviceBytes()}, ReduceOp.MAX);
        long tokens = config.tokensPerStep();
        return new StepMetrics((int) u.step(), g.loss(), u.gradNorm(), u.lr(), tokens, tokens / maxima[0],
                (long) maxima[1]);
    }

    @Override
    public void close() {
        optimizer.close();
        weights.close();
    }
}
