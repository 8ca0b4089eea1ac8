package io.easycontext.service.execution;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.eval.model.EvalModel;
import io.easycontext.runtime.comm.RankDevices;
import io.easycontext.runtime.eval.model.ShardedEvalModel;
import io.easycontext.runtime.eval.report.ResultFiles;
import io.easycontext.runtime.hf.HfModelDir;
import io.easycontext.runtime.io.InvalidFileException;
import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.model.LlamaModel;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.parallel.ParallelConfig;
import io.easycontext.runtime.spec.Devices;
import io.easycontext.runtime.spec.EvalSpec;
import io.easycontext.runtime.tokenizer.Tokenizer;
import io.easycontext.runtime.tokenizer.Tokenizers;
import io.easycontext.service.job.JobReason;

/**
 * The model, tokenizer and ranks of an evaluation spec, made as the runtime's evaluation commands make them from
 * the same flags (their {@code EvalOptions} is not public), and the files the results go to: so that a job's
 * results are those its command line writes, which EvaluationJobsTest checks by running it.
 */
final class EvalRun {

    /**
     * Where the results go under the job's directory: the commands' default {@code --output-dir}, so that the job's
     * command line, run in that directory, writes the same files at the same names.
     */
    static final String OUTPUT_DIR = "eval-results";

    /** One rank's part of the evaluation: {@code leader} is rank 0, which reports for all. */
    @FunctionalInterface
    interface RankWork<T> {
        T run(EvalModel model, boolean leader);
    }

    private final EvalSpec spec;
    private final HfModelDir dir;
    private final LlamaConfig config;
    private final RankDevices devices;
    private final ParallelConfig parallel;

    EvalRun(EvalSpec spec) {
        this.spec = spec;
        Path path = Path.of(spec.model());
        try {
            this.dir = Files.isDirectory(path) ? HfModelDir.open(path) : null;
            this.config = dir == null ? LlamaConfig.preset(spec.model()) : dir.config();
        } catch (RuntimeException e) {
            // Valid at submission: the directory has gone or its config changed since.
            throw new JobFailedException(JobReason.INVALID_MODEL, e.getMessage(), e);
        }
        this.devices = new RankDevices(available(spec.devices()), spec.cpuType(), 0);
        this.parallel = spec.parallelConfig();
    }

    /**
     * The ranks' devices, with the GPUs checked against the driver's, as the training's config checks them: GPUs
     * were counted against the node's at submission, and a node configured with GPUs it does not have fails its
     * GPU jobs as INTERNAL, naming the devices.
     */
    private static Devices available(String devices) {
        try {
            return Devices.parseAvailable(devices);
        } catch (IllegalArgumentException e) {
            throw new JobFailedException(JobReason.INTERNAL, "devices: " + e.getMessage(), e);
        }
    }

    /** The spec's tokenizer, else the model directory's, else bytes; one with ids the model lacks fails the job. */
    Tokenizer openTokenizer() {
        Tokenizer t = readingData(() -> Tokenizers.open(spec.tokenizer(), dir == null ? null : dir.dir()));
        if (t.vocabSize() > config.vocabSize()) {
            t.close();
            throw new JobFailedException(JobReason.INVALID_DATA, t.describe() + " has " + t.vocabSize()
                    + " ids, more than the model's vocabulary of " + config.vocabSize());
        }
        return t;
    }

    /** Runs {@code work} on every rank, each with its replica of the model, and returns rank 0's result. */
    <T> T onRanks(RankWork<T> work) {
        return devices.run((backend, world) -> {
            try (LlamaWeights weights = weights(backend)) {
                LlamaModel model = new LlamaModel(weights, LlamaModel.Options.DEFAULTS);
                return work.run(new ShardedEvalModel(backend, model, world, parallel), world.rank() == 0);
            }
        }).get(0);
    }

    /** Loaded weights, or weights drawn from the seed for a preset or a directory with only a config. */
    private LlamaWeights weights(Backend backend) {
        if (dir != null && dir.hasWeights()) {
            return dir.load(backend, spec.ropeTheta());
        }
        LlamaConfig c = spec.ropeTheta() == null ? config
                : config.withRope(spec.ropeTheta(), config.maxPositionEmbeddings());
        return LlamaWeights.initialize(backend, c, spec.seed());
    }

    /** The run's settings under the flags' names, first in the results' JSON. */
    Map<String, Object> describe() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model", spec.model());
        m.put("weights", dir != null && dir.hasWeights() ? "loaded" : "random (seed " + spec.seed() + ")");
        m.put("rope_theta", spec.ropeTheta() == null ? config.ropeTheta() : spec.ropeTheta());
        m.put("devices", devices.toString());
        m.put("parallel_mode", parallel.mode().cliName());
        return m;
    }

    /** A short name for titles and files: the model directory's or the preset's. */
    String modelName() {
        Path name = Path.of(spec.model()).getFileName();
        return name == null ? "model" : name.toString();
    }

    /** The files of an evaluation, e.g. {@code eval-results/needle-small.json}, {@code .csv} and {@code .png}. */
    ResultFiles resultFiles(Path workDir, String evaluation) {
        return new ResultFiles(workDir.resolve(OUTPUT_DIR), evaluation + "-" + modelName());
    }

    /**
     * Reads what the evaluation reads besides the model (a tokenizer, a dataset, a haystack): valid at submission,
     * it can have gone or turned out unusable since, which fails the job as the data's fault.
     */
    static <T> T readingData(Supplier<T> read) {
        try {
            return read.get();
        } catch (IllegalArgumentException | UncheckedIOException | InvalidFileException e) {
            throw new JobFailedException(JobReason.INVALID_DATA, e.getMessage(), e);
        }
    }
}
