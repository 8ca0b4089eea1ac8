package io.easycontext.runtime.spec;

import io.easycontext.runtime.comm.RankDevices;
import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.optim.OptimizerMoments;
import io.easycontext.runtime.optim.zero.OffloadMode;
import io.easycontext.runtime.optim.zero.Sharding;
import io.easycontext.runtime.parallel.ModeChoice;
import io.easycontext.runtime.parallel.ParallelConfig;
import io.easycontext.runtime.parallel.ParallelConfigException;
import io.easycontext.runtime.parallel.ParallelMode;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tokenizer.Tokenizer;
import io.easycontext.runtime.tokenizer.Tokenizers;
import io.easycontext.runtime.train.DataSource;
import io.easycontext.runtime.train.TrainConfig;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import java.util.Locale;
import java.util.stream.IntStream;

/**
 * A training run: the flags of the runtime's {@code train} command, in camelCase. Fields left null take the
 * CLI's defaults in the constructor, except those whose null means "let the runtime choose" ({@code ropeTheta}:
 * the model's own; the degrees: what the world size leaves).
 *
 * <p>With {@code stages}, one spec is several runs in a row: stage {@code k} overrides some fields of this spec
 * and starts from the weights stage {@code k−1} ended with. {@link #runs()} gives each stage as a plain spec.
 *
 * @param model a preset name such as {@code tiny}, or the directory of a Hugging Face model
 * @param devices {@code cpu:N}: N simulated ranks on the CPU backend; {@code cuda:0}, {@code cuda:0,1},
 *     {@code cuda:0-3}: those GPUs, one rank each (see {@link Devices})
 * @param dtype the CPU backend's precision, {@code f32} or {@code f64}; GPUs store bf16 and accumulate in fp32
 * @param gpuMemoryGib the most memory a GPU rank may use, in GiB; 0, the default, all of the GPU's but a reserve
 *     ({@code 80} on a 141 GB H200 plans and runs as on an 80 GB H100)
 * @param parallelMode in JSON by its CLI name, e.g. {@code zigzag_ring_attn}
 * @param dataset the training data; {@code synthetic}, the default, is the runtime's seeded synthetic corpus
 * @param checkpointEvery a checkpoint after every this many steps; 0, the default, only after the last. Run {@code k}
 *     writes its checkpoints and final model to {@link #outputDir(int) checkpoints/stage-k}
 * @param zeroStage 0, the default: every rank keeps the whole AdamW state; 1: each rank keeps its shard of it (ZeRO
 *     stage 1, 12 bytes per parameter over the ranks instead of on each); 2: and of the gradients, reduce-scattered
 *     layer by layer during the backward; 3: and of the bf16 parameters, gathered layer by layer when used. Stages
 *     2 and 3 need two or more ranks
 * @param optimizerOffload where a sharded state lives (stages 1 to 3): {@code none} (the default, on the device),
 *     {@code cpu} (host memory, updated by the host) or {@code gpu_stream} (host memory, streamed through the device
 *     to be updated)
 * @param optimizerMoments the type AdamW keeps its two moments in: {@code fp32} (the default) or {@code bf16}, which
 *     halves their memory (4 bytes a parameter instead of 8, wherever the state lives) at the cost of rounding them
 *     to bfloat16 after every update, as PyTorch's AdamW on bf16 parameters does; master weights stay fp32. A run
 *     resumes only under the type it was saved with
 * @param offloadCheckpoints with activation checkpointing, how many layers (the first ones) park their checkpoint
 *     in host memory between the forward and the backward; 0, the default, none
 * @param keptAttentionLayers with activation checkpointing, how many layers (the last ones) keep their attention
 *     output on the device between the forward and the backward, so that the backward's recomputation of the layer
 *     runs no attention forward (the costliest op at long context, with all the communication of the
 *     sequence-parallel modes): faster, at an attention output and its log-sum-exp a layer; 0, the default, none;
 *     more than the model's layers, all
 * @param autoMemory on GPUs, let the memory planner choose {@code zeroStage}, {@code optimizerOffload},
 *     {@code offloadCheckpoints} and {@code keptAttentionLayers} before the run starts: the cheapest that fit each
 *     rank's memory (the pool that {@code gpuMemoryGib} leaves) and the node's host memory, with attention kept in
 *     as many layers as then fit, in place of those given; {@code optimizerMoments} is kept as given. false, the
 *     default, runs the options as given. GPU devices only
 */
public record TrainSpec(
        String model,
        String devices,
        ParallelMode parallelMode,
        Integer ulyssesDegree,
        Integer ringDegree,
        Integer dpDegree,
        Integer seqLength,
        Double ropeTheta,
        Integer batchSize,
        Integer gradientAccumulateEvery,
        Double learningRate,
        Integer warmupSteps,
        Double weightDecay,
        Double maxGradNorm,
        Integer maxTrainSteps,
        Long seed,
        String dtype,
        Integer gpuMemoryGib,
        Boolean activationCheckpointing,
        String dataset,
        Integer checkpointEvery,
        Integer zeroStage,
        String optimizerOffload,
        String optimizerMoments,
        Integer offloadCheckpoints,
        Integer keptAttentionLayers,
        Boolean autoMemory,
        List<TrainStage> stages) implements RunSpec {

    public static final int MAX_STAGES = 16;
    static final int MAX_PATH = 1024;
    private static final List<String> DTYPES = List.of("f32", "f64");

    public TrainSpec {
        model = model == null ? "tiny" : model;
        devices = devices == null ? Devices.DEFAULT : devices;
        parallelMode = parallelMode == null ? ParallelMode.DATA_PARALLEL : parallelMode;
        seqLength = seqLength == null ? 64 : seqLength;
        batchSize = batchSize == null ? 1 : batchSize;
        gradientAccumulateEvery = gradientAccumulateEvery == null ? 1 : gradientAccumulateEvery;
        learningRate = learningRate == null ? 2e-5 : learningRate;
        warmupSteps = warmupSteps == null ? 0 : warmupSteps;
        weightDecay = weightDecay == null ? 0.0 : weightDecay;
        maxGradNorm = maxGradNorm == null ? 1.0 : maxGradNorm;
        maxTrainSteps = maxTrainSteps == null ? 10 : maxTrainSteps;
        seed = seed == null ? 2022L : seed;
        dtype = dtype == null ? "f32" : dtype.toLowerCase(Locale.ROOT);
        gpuMemoryGib = gpuMemoryGib == null ? 0 : gpuMemoryGib;
        activationCheckpointing = activationCheckpointing == null || activationCheckpointing;
        dataset = dataset == null ? Datasets.SYNTHETIC : dataset;
        checkpointEvery = checkpointEvery == null ? 0 : checkpointEvery;
        zeroStage = zeroStage == null ? 0 : zeroStage;
        optimizerOffload = optimizerOffload == null ? OffloadMode.NONE.flag() : optimizerOffload.toLowerCase(Locale.ROOT);
        optimizerMoments = optimizerMoments == null ? OptimizerMoments.FP32.flag()
                : optimizerMoments.toLowerCase(Locale.ROOT);
        offloadCheckpoints = offloadCheckpoints == null ? 0 : offloadCheckpoints;
        keptAttentionLayers = keptAttentionLayers == null ? 0 : keptAttentionLayers;
        autoMemory = autoMemory != null && autoMemory;
        stages = stages == null ? List.of() : List.copyOf(stages);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The runs this spec stands for: itself, or one plain spec per stage. */
    public List<TrainSpec> runs() {
        if (stages.isEmpty()) {
            return List.of(this);
        }
        List<TrainSpec> runs = new ArrayList<>(stages.size());
        for (TrainStage s : stages) {
            runs.add(new TrainSpec(model, devices, or(s.parallelMode(), parallelMode), ulyssesDegree, ringDegree,
                    dpDegree, or(s.seqLength(), seqLength), or(s.ropeTheta(), ropeTheta), batchSize,
                    gradientAccumulateEvery, or(s.learningRate(), learningRate), warmupSteps, weightDecay,
                    maxGradNorm, or(s.maxTrainSteps(), maxTrainSteps), seed, dtype, gpuMemoryGib, activationCheckpointing,
                    or(s.dataset(), dataset), or(s.checkpointEvery(), checkpointEvery), zeroStage, optimizerOffload,
                    optimizerMoments, offloadCheckpoints, keptAttentionLayers, autoMemory, List.of()));
        }
        return runs;
    }

    /**
     * Under {@code parallelMode auto}, this spec with the first of {@link ModeChoice#candidates} for which
     * {@code fits} holds (given the spec with that mode), else with the first; this spec itself where the mode is
     * given, where it has stages (each run is resolved on its own) or where it is invalid (its validation says why).
     */
    public TrainSpec withModeThatFits(Predicate<TrainSpec> fits) {
        if (parallelMode != ParallelMode.AUTO || !stages.isEmpty() || !validate().isEmpty()) {
            return this;
        }
        TrainConfig first = toTrainConfig();
        return withParallel(ModeChoice.firstThatFits(
                ModeChoice.candidates(first.parallel().worldSize(), seqLength, first.model()),
                p -> fits.test(withParallel(p))));
    }

    /** This spec with {@code p}'s mode and degrees, as {@code --parallel-mode auto} chose them. */
    public TrainSpec withParallel(ParallelConfig p) {
        return new TrainSpec(model, devices, p.mode(), p.ulyssesDegree(), p.ringDegree(), p.dpDegree(), seqLength,
                ropeTheta, batchSize, gradientAccumulateEvery, learningRate, warmupSteps, weightDecay, maxGradNorm,
                maxTrainSteps, seed, dtype, gpuMemoryGib, activationCheckpointing, dataset, checkpointEvery, zeroStage,
                optimizerOffload, optimizerMoments, offloadCheckpoints, keptAttentionLayers, autoMemory, stages);
    }

    /** Optimizer steps over every stage. */
    public long totalSteps() {
        return runs().stream().mapToLong(TrainSpec::maxTrainSteps).sum();
    }

    @Override
    public List<Violation> validate() {
        Checks checks = new Checks();
        checks.notBlank("model", model);
        checks.maxLength("model", model, MAX_PATH);
        LlamaConfig modelConfig = null;
        if (!checks.failed()) {
            try {
                modelConfig = Models.resolve(model);
            } catch (IllegalArgumentException e) {
                checks.reject("model", e.getMessage());
            }
        }
        Integer world = null;
        try {
            Devices parsed = Devices.parseAvailable(devices);
            world = parsed.ranks();
            if (autoMemory && !parsed.cuda()) {
                checks.reject("autoMemory", "applies to GPU devices only: it chooses how GPU ranks hold their "
                        + "state, and devices " + parsed + " has none");
            }
        } catch (IllegalArgumentException e) {
            checks.reject("devices", e.getMessage());
        }
        checks.atLeast("ulyssesDegree", ulyssesDegree, 1);
        checks.atLeast("ringDegree", ringDegree, 1);
        checks.atLeast("dpDegree", dpDegree, 1);
        checkShared(checks, seqLength, ropeTheta, maxTrainSteps, learningRate, dataset, checkpointEvery);
        checks.atLeast("batchSize", batchSize, 1);
        checks.atLeast("gradientAccumulateEvery", gradientAccumulateEvery, 1);
        checks.atLeast("warmupSteps", warmupSteps, 0);
        checks.notNegative("weightDecay", weightDecay);
        checks.notNegative("maxGradNorm", maxGradNorm);
        checks.atLeast("gpuMemoryGib", gpuMemoryGib, 0);
        if (!DTYPES.contains(dtype)) {
            checks.reject("dtype", "must be f32 or f64, not '" + dtype + "'");
        }
        checkSharding(checks);
        if (world != null && (zeroStage == 2 || zeroStage == 3) && world < 2) {
            checks.reject("zeroStage", zeroStage + " shards gradients" + (zeroStage == 3 ? " and parameters" : "")
                    + " over the ranks, and " + devices + " has one: use zeroStage 1 (with an optimizerOffload to move "
                    + "the state off the device) or more devices");
        }
        if (stages.size() > MAX_STAGES) {
            checks.reject("stages", "must have at most " + MAX_STAGES + " stages, not " + stages.size());
        }
        for (int i = 0; i < stages.size(); i++) {
            if (stages.get(i) == null) {
                checks.reject("stages[" + i + "]", "must not be null");
            } else {
                stages.get(i).check(checks.at("stages[" + i + "]"));
            }
        }
        // The parallel layout depends on most fields above: check it only where they are sound, once per run.
        if (!checks.failed()) {
            List<TrainSpec> runs = runs();
            for (int i = 0; i < runs.size(); i++) {
                String field = stages.isEmpty() ? "parallelMode" : "stages[" + i + "].parallelMode";
                try {
                    runs.get(i).parallelConfig(world, modelConfig).validate(runs.get(i).seqLength(),
                            modelConfig.numAttentionHeads(), modelConfig.numKeyValueHeads());
                } catch (ParallelConfigException e) {
                    checks.reject(field, e.getMessage());
                }
            }
        }
        return checks.violations();
    }

    private void checkSharding(Checks checks) {
        if (zeroStage < 0 || zeroStage > Sharding.MAX_STAGE) {
            checks.reject("zeroStage", "must be 0 (replicated optimizer state), 1 (optimizer state sharded), 2 (and "
                    + "gradients) or 3 (and parameters), not " + zeroStage);
        }
        OffloadMode offload = null;
        try {
            offload = OffloadMode.parse(optimizerOffload);
        } catch (IllegalArgumentException e) {
            checks.reject("optimizerOffload", "must be none, cpu or gpu_stream, not '" + optimizerOffload + "'");
        }
        if (offload != null && offload != OffloadMode.NONE && zeroStage == 0) {
            checks.reject("optimizerOffload", "needs zeroStage 1, 2 or 3: only a sharded optimizer offloads its "
                    + "state");
        }
        try {
            OptimizerMoments.parse(optimizerMoments);
        } catch (IllegalArgumentException e) {
            checks.reject("optimizerMoments", "must be fp32 or bf16, not '" + optimizerMoments + "'");
        }
        checks.atLeast("offloadCheckpoints", offloadCheckpoints, 0);
        if (offloadCheckpoints != null && offloadCheckpoints > 0 && Boolean.FALSE.equals(activationCheckpointing)) {
            checks.reject("offloadCheckpoints", "needs activationCheckpointing: only checkpoints are offloaded");
        }
        checks.atLeast("keptAttentionLayers", keptAttentionLayers, 0);
        if (keptAttentionLayers != null && keptAttentionLayers > 0 && Boolean.FALSE.equals(activationCheckpointing)) {
            checks.reject("keptAttentionLayers", "needs activationCheckpointing: without it every layer keeps its "
                    + "attention output already");
        }
    }

    /** The fields a stage may override, checked alike wherever they are given. */
    static void checkShared(Checks checks, Integer seqLength, Double ropeTheta, Integer maxTrainSteps,
            Double learningRate, String dataset, Integer checkpointEvery) {
        checks.atLeast("seqLength", seqLength, 1);
        // LlamaConfig's own bound: rotary embeddings need a base above 1.
        checks.greaterThan("ropeTheta", ropeTheta, 1);
        checks.atLeast("maxTrainSteps", maxTrainSteps, 1);
        checks.notNegative("learningRate", learningRate);
        if (dataset != null && !Datasets.isKnown(dataset)) {
            checks.reject("dataset", "must be one of " + Datasets.KNOWN + " or an existing path, not '" + dataset + "'");
        }
        checks.atLeast("checkpointEvery", checkpointEvery, 0);
    }

    /** This single run as the trainer takes it; the spec must be valid and have no stages. */
    public TrainConfig toTrainConfig() {
        requireSingleRun();
        requireValid();
        LlamaConfig base = Models.resolve(model);
        double theta = ropeTheta == null ? base.ropeTheta() : ropeTheta;
        // EasyContext raises rope theta for long contexts; positions beyond the config's limit are then expected.
        LlamaConfig config = base.withRope(theta, Math.max(base.maxPositionEmbeddings(), seqLength));
        RankDevices ranks = RankDevices.parse(devices, "f64".equals(dtype) ? DType.F64 : DType.F32,
                (long) gpuMemoryGib << 30);
        return new TrainConfig(config, parallelConfig(ranks.ranks(), config), seqLength, batchSize,
                gradientAccumulateEvery, maxTrainSteps, learningRate, warmupSteps, weightDecay, maxGradNorm, seed,
                ranks, activationCheckpointing, new Sharding(zeroStage, OffloadMode.parse(optimizerOffload)),
                offloadCheckpoints, OptimizerMoments.parse(optimizerMoments), keptAttentionLayers);
    }

    /** {@link #openDataset(int, Tokenizer)} with the model directory's tokenizer, or bytes where it has none. */
    public DataSource openDataset(int vocabSize) {
        Path dir = Path.of(model);
        return openDataset(vocabSize, Tokenizers.open(null, Files.isDirectory(dir) ? dir : null));
    }

    /** The training data of this single run, for a model of this vocabulary, text tokenized by {@code tokenizer}. */
    public DataSource openDataset(int vocabSize, Tokenizer tokenizer) {
        requireSingleRun();
        return Datasets.open(dataset, seed, vocabSize, seqLength, tokenizer);
    }

    /**
     * Where run {@code k} writes its checkpoints and its final model, relative to the directory the runs are started
     * in (a job's directory): one directory per stage, as no two runs' checkpoints may share one.
     */
    public static String outputDir(int run) {
        return "checkpoints/stage-" + run;
    }

    @Override
    public List<List<String>> commandLines() {
        List<TrainSpec> runs = runs();
        return IntStream.range(0, runs.size()).mapToObj(k -> runs.get(k).args(k)).toList();
    }

    private List<String> args(int run) {
        return CommandLine.of("train")
                .flag("model", model)
                .flag("devices", devices)
                .flag("parallelMode", parallelMode.cliName())
                .flag("ulyssesDegree", ulyssesDegree)
                .flag("ringDegree", ringDegree)
                .flag("dpDegree", dpDegree)
                .flag("seqLength", seqLength)
                .flag("ropeTheta", ropeTheta)
                .flag("batchSize", batchSize)
                .flag("gradientAccumulateEvery", gradientAccumulateEvery)
                .flag("learningRate", learningRate)
                .flag("warmupSteps", warmupSteps)
                .flag("weightDecay", weightDecay)
                .flag("maxGradNorm", maxGradNorm)
                .flag("maxTrainSteps", maxTrainSteps)
                .flag("seed", seed)
                .flag("dtype", dtype)
                .flag("gpuMemoryGib", gpuMemoryGib == 0 ? null : gpuMemoryGib)
                .flag("activationCheckpointing", activationCheckpointing)
                .flag("dataset", dataset)
                .flag("checkpointEvery", checkpointEvery)
                .flag("zeroStage", zeroStage == 0 ? null : zeroStage)
                .flag("optimizerOffload", OffloadMode.NONE.flag().equals(optimizerOffload) ? null : optimizerOffload)
                .flag("optimizerMoments", OptimizerMoments.FP32.flag().equals(optimizerMoments) ? null : optimizerMoments)
                .flag("offloadCheckpoints", offloadCheckpoints == 0 ? null : offloadCheckpoints)
                .flag("keptAttentionLayers", keptAttentionLayers == 0 ? null : keptAttentionLayers)
                .flag("autoMemory", autoMemory ? true : null)
                .flag("outputDir", outputDir(run))
                .args();
    }

    /**
     * The layout of this run over {@code world} ranks; under {@code auto} the first of {@link ModeChoice#candidates}
     * for the model and length (which {@code train} narrows by memory beforehand, {@link #withParallel}).
     */
    private ParallelConfig parallelConfig(int world, LlamaConfig model) {
        if (parallelMode != ParallelMode.AUTO) {
            return ParallelConfig.resolve(parallelMode, world, orUnset(dpDegree), orUnset(ulyssesDegree),
                    orUnset(ringDegree));
        }
        if (ulyssesDegree != null || ringDegree != null || dpDegree != null) {
            throw new ParallelConfigException(ModeChoice.DEGREES_GIVEN);
        }
        List<ParallelConfig> layouts = ModeChoice.candidates(world, seqLength, model);
        if (layouts.isEmpty()) {
            throw new ParallelConfigException(ModeChoice.noneFor(seqLength, world));
        }
        return layouts.get(0);
    }

    private void requireSingleRun() {
        if (!stages.isEmpty()) {
            throw new IllegalStateException("a staged spec runs stage by stage: take its runs()");
        }
    }

    private static int orUnset(Integer degree) {
        return degree == null ? ParallelConfig.UNSET : degree;
    }

    private static <T> T or(T override, T inherited) {
        return override != null ? override : inherited;
    }

    /** For code that sets a few fields: the CLI, tests. */
    public static final class Builder {
        private String model;
        private String devices;
        private ParallelMode parallelMode;
        private Integer ulyssesDegree;
        private Integer ringDegree;
        private Integer dpDegree;
        private Integer seqLength;
        private Double ropeTheta;
        private Integer batchSize;
        private Integer gradientAccumulateEvery;
        private Double learningRate;
        private Integer warmupSteps;
        private Double weightDecay;
        private Double maxGradNorm;
        private Integer maxTrainSteps;
        private Long seed;
        private String dtype;
        private Integer gpuMemoryGib;
        private Boolean activationCheckpointing;
        private String dataset;
        private Integer checkpointEvery;
        private Integer zeroStage;
        private String optimizerOffload;
        private String optimizerMoments;
        private Integer offloadCheckpoints;
        private Integer keptAttentionLayers;
        private Boolean autoMemory;
        private List<TrainStage> stages;

        private Builder() {
        }

        public Builder model(String v) { model = v; return this; }
        public Builder devices(String v) { devices = v; return this; }
        public Builder parallelMode(ParallelMode v) { parallelMode = v; return this; }
        public Builder ulyssesDegree(Integer v) { ulyssesDegree = v; return this; }
        public Builder ringDegree(Integer v) { ringDegree = v; return this; }
        public Builder dpDegree(Integer v) { dpDegree = v; return this; }
        public Builder seqLength(Integer v) { seqLength = v; return this; }
        public Builder ropeTheta(Double v) { ropeTheta = v; return this; }
        public Builder batchSize(Integer v) { batchSize = v; return this; }
        public Builder gradientAccumulateEvery(Integer v) { gradientAccumulateEvery = v; return this; }
        public Builder learningRate(Double v) { learningRate = v; return this; }
        public Builder warmupSteps(Integer v) { warmupSteps = v; return this; }
        public Builder weightDecay(Double v) { weightDecay = v; return this; }
        public Builder maxGradNorm(Double v) { maxGradNorm = v; return this; }
        public Builder maxTrainSteps(Integer v) { maxTrainSteps = v; return this; }
        public Builder seed(Long v) { seed = v; return this; }
        public Builder dtype(String v) { dtype = v; return this; }
        public Builder gpuMemoryGib(Integer v) { gpuMemoryGib = v; return this; }
        public Builder activationCheckpointing(Boolean v) { activationCheckpointing = v; return this; }
        public Builder dataset(String v) { dataset = v; return this; }
        public Builder checkpointEvery(Integer v) { checkpointEvery = v; return this; }
        public Builder zeroStage(Integer v) { zeroStage = v; return this; }
        public Builder optimizerOffload(String v) { optimizerOffload = v; return this; }
        public Builder optimizerMoments(String v) { optimizerMoments = v; return this; }
        public Builder offloadCheckpoints(Integer v) { offloadCheckpoints = v; return this; }
        public Builder keptAttentionLayers(Integer v) { keptAttentionLayers = v; return this; }
        public Builder autoMemory(Boolean v) { autoMemory = v; return this; }
        public Builder stages(List<TrainStage> v) { stages = v; return this; }

        public TrainSpec build() {
            return new TrainSpec(model, devices, parallelMode, ulyssesDegree, ringDegree, dpDegree, seqLength,
                    ropeTheta, batchSize, gradientAccumulateEvery, learningRate, warmupSteps, weightDecay,
                    maxGradNorm, maxTrainSteps, seed, dtype, gpuMemoryGib, activationCheckpointing, dataset,
                    checkpointEvery, zeroStage, optimizerOffload, optimizerMoments, offloadCheckpoints,
                    keptAttentionLayers, autoMemory,
                    stages);
        }
    }
}
