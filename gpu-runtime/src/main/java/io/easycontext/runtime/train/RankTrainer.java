package io.easycontext.runtime.train;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.backend.cpu.CpuBackend;
import io.easycontext.runtime.comm.Communicator;
import io.easycontext.runtime.comm.ReduceOp;
import io.easycontext.runtime.model.LlamaModel;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.model.Parameter;
import io.easycontext.runtime.optim.AdamW;
import io.easycontext.runtime.optim.LrSchedule;
import io.easycontext.runtime.optim.Optimizer;
import io.easycontext.runtime.optim.TrainingOptimizer;
import io.easycontext.runtime.optim.zero.ShardedOptimizer;
import io.easycontext.runtime.optim.zero.ShardedParameters;
import io.easycontext.runtime.optim.zero.Sharding;
import io.easycontext.runtime.parallel.GradientSync;
import io.easycontext.runtime.parallel.ParallelRank;
import io.easycontext.runtime.tensor.DType;

/**
 * One rank's replica and its part of every optimizer step: it builds the same weights as every other rank from the
 * seed, takes the same global micro-batches, keeps its shard, and runs forward and backward through its mode's
 * attention; then the reductions of {@link GradientSync} make its gradient the whole step's. With the optimizer
 * sharded (ZeRO-1), the parameters live in flat buffers and the gradients stay local until the optimizer's own
 * reduce-scatter; under ZeRO-2 and -3 the model reaches the parameters unit by unit ({@link ShardedParameters}), and
 * the backward reduce-scatters each unit's gradients as soon as it is done with them.
 */
final class RankTrainer implements RankState, AutoCloseable {

    /** The step's mean loss and its target count, equal on every rank once the gradients are reduced. */
    record Gradients(double loss, long targets) {
    }

    private final TrainConfig config;
    private final DataSource data;
    private final Backend backend;
    private final ParallelRank rank;
    /** Every parameter, resident (stages 0 to 2; gradients only up to stage 1); null under ZeRO-3. */
    private final LlamaWeights weights;
    /** Stages 2 and 3: the parameters the model reaches unit by unit. */
    private final ShardedParameters sharded;
    private final LlamaModel model;
    private final BatchPlan plan;
    private final TrainingOptimizer optimizer;

    /** Whether {@link #close()} frees the parameters: not those of {@link #onWeights}, which outlive the trainer. */
    private final boolean ownsWeights;

    /**
     * Collective over {@code world}: every rank constructs its trainer together, on the backend its thread opened
     * (which outlives the trainer), from {@code initialWeights} or, where null, the seed.
     */
    RankTrainer(TrainConfig config, DataSource data, Backend backend, Communicator world,
                WeightsSnapshot initialWeights) {
        this(config, data, backend, world, initialWeights != null
                ? initialWeights.loader(backend, config.model())
                : LlamaWeights.initializer(backend, config.model(), config.seed()), null);
    }

    /**
     * Collective: a trainer of {@code weights} in place, which outlive it (its {@link #close()} leaves them), with a
     * fresh optimizer; the run must replicate its state ({@link Sharding#REPLICATED}).
     */
    static RankTrainer onWeights(TrainConfig config, DataSource data, Backend backend, Communicator world,
                                 LlamaWeights weights) {
        if (config.sharding().sharded()) {
            throw new IllegalArgumentException("training weights in place replicates the optimizer state, not "
                    + config.sharding());
        }
        return new RankTrainer(config, data, backend, world, null, weights);
    }

    /** From {@code init} into weights of the trainer's own, or, where {@code given} is not null, on those. */
    private RankTrainer(TrainConfig config, DataSource data, Backend backend, Communicator world,
                        LlamaWeights.Loader init, LlamaWeights given) {
        this.config = config;
        this.data = data;
        this.backend = backend;
        this.rank = ParallelRank.create(world, config.parallel(), config.seqLength());
        this.ownsWeights = given == null;
        Sharding sharding = config.sharding();
        int shards = rank.world().size();
        LlamaModel.Options options = new LlamaModel.Options(config.activationCheckpointing(),
                LlamaModel.Options.DEFAULTS.lossChunkTokens()).withOffloadedCheckpoints(config.offloadedCheckpoints())
                .withKeptAttentionLayers(config.keptAttentionLayers());
        // The parameters are filled before the optimizer is built: its master weights start as copies of them.
        if (given != null) {
            this.sharded = null;
            this.weights = given;
            this.model = new LlamaModel(weights, options);
        } else if (sharding.shardsGradients()) {
            this.sharded = ShardedParameters.create(backend, rank.world(), config.model(), sharding.stage(), init);
            this.weights = sharding.shardsParameters() ? null : sharded.residentWeights();
            this.model = new LlamaModel(config.model(), sharded, options);
        } else {
            this.sharded = null;
            this.weights = sharding.sharded()
                    ? LlamaWeights.loadFlat(backend, config.model(), shards, init)
                    : LlamaWeights.load(backend, config.model(), init);
            this.model = new LlamaModel(weights, options);
        }
        this.plan = new BatchPlan(config.batchSize(), config.parallel().dpDegree(), config.gradientAccumulation());
        AdamW.Hyper hyper = new AdamW.Hyper(AdamW.Hyper.DEFAULTS.beta1(), AdamW.Hyper.DEFAULTS.beta2(),
                AdamW.Hyper.DEFAULTS.eps(), config.weightDecay(), config.optimizerMoments());
        LrSchedule schedule = LrSchedule.warmupConstant(config.learningRate(), config.warmupSteps());
        if (sharded != null) {
            this.optimizer = new ShardedOptimizer(backend, rank.world(), sharded, hyper, schedule, config.maxGradNorm(),
                    sharding.offload());
        } else if (sharding.sharded()) {
            this.optimizer = new ShardedOptimizer(backend, rank.world(), weights.flat().orElseThrow(),
                    weights.parameters(), hyper, schedule, config.maxGradNorm(), sharding.offload());
        } else {
            this.optimizer = new Optimizer(backend, weights.parameters(), hyper, schedule, config.maxGradNorm());
        }
    }

    @Override
    public TrainConfig config() {
        return config;
    }

    @Override
    public DataSource data() {
        return data;
    }

    /** Every parameter, as this rank holds it whole (gradients included up to ZeRO-1); null under ZeRO-3. */
    LlamaWeights weights() {
        return weights;
    }

    @Override
    public WholeWeights wholeWeights(int root) {
        if (weights != null) {
            return new WholeWeights(backend, weights, backend.floatType(), false);
        }
        CpuBackend host = new CpuBackend(backend.floatType() == DType.F64 ? DType.F64 : DType.F32);
        LlamaWeights gathered = sharded.gatherToHost(host, root);
        return gathered == null ? null : new WholeWeights(host, gathered, backend.floatType(), true);
    }

    @Override
    public void loadWeights(LlamaWeights.Loader loader) {
        if (sharded != null) {
            sharded.load(loader);
        } else {
            for (Parameter p : weights.parameters()) {
                loader.fill(p.name(), p.value());
            }
        }
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
        if (sharded != null) {
            sharded.zeroGradients();
        } else {
            weights.zeroGradients(backend);
        }
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
        if (sharded != null) {
            sharded.close();
        } else if (ownsWeights) {
            weights.close();
        }
    }
}
