package io.easycontext.runtime.spec;

import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.parallel.ParallelConfig;
import io.easycontext.runtime.parallel.ParallelConfigException;
import io.easycontext.runtime.parallel.ParallelMode;
import io.easycontext.runtime.tokenizer.ByteTokenizer;
import io.easycontext.runtime.tokenizer.HfTokenizer;
import io.easycontext.runtime.tokenizer.Tokenizers;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;

/** The checks and flags of the fields every {@link EvalSpec} has, checked and rendered alike in each. */
final class EvalFields {

    private EvalFields() {
    }

    /** The shared fields' defaults, as every evaluation command takes them: each field's value, or its default. */
    static String devices(String devices) {
        return devices == null ? Devices.DEFAULT : devices;
    }

    static ParallelMode parallelMode(ParallelMode parallelMode, String devices) {
        return parallelMode == null ? defaultMode(devices) : parallelMode;
    }

    static String dtype(String dtype) {
        return dtype == null ? "f32" : dtype.toLowerCase(Locale.ROOT);
    }

    static long seed(Long seed) {
        return seed == null ? EvalSpec.DEFAULT_SEED : seed;
    }

    static boolean plot(Boolean plot) {
        return plot == null || plot;
    }

    /**
     * The commands' default mode: zigzag ring attention over several ranks, as EasyContext evaluates, and plain causal
     * attention on one. Devices that name no ranks get zigzag, and their own violation.
     */
    static ParallelMode defaultMode(String devices) {
        try {
            return Devices.worldSize(devices) == 1 ? ParallelMode.DATA_PARALLEL : ParallelMode.ZIGZAG_RING_ATTN;
        } catch (IllegalArgumentException e) {
            return ParallelMode.ZIGZAG_RING_ATTN;
        }
    }

    /** The shared fields' checks. */
    static void check(Checks checks, EvalSpec spec) {
        checks.notBlank("model", spec.model());
        checks.maxLength("model", spec.model(), TrainSpec.MAX_PATH);
        LlamaConfig model = null;
        if (!checks.failed()) {
            model = model(checks, spec.model());
        }
        checkTokenizer(checks, spec, model);
        checks.greaterThan("ropeTheta", spec.ropeTheta(), 1);
        try {
            Devices.parseAvailable(spec.devices());
        } catch (IllegalArgumentException e) {
            checks.reject("devices", e.getMessage());
        }
        checks.atLeast("ulyssesDegree", spec.ulyssesDegree(), 1);
        checks.atLeast("ringDegree", spec.ringDegree(), 1);
        if (!List.of("f32", "f64").contains(spec.dtype())) {
            checks.reject("dtype", "must be f32 or f64, not '" + spec.dtype() + "'");
        }
        if (!checks.failed()) {
            try {
                ParallelConfig p = spec.parallelConfig();
                // Every evaluated length is padded to a multiple of twice the group, so that length is the one
                // whose split decides; the heads' constraints are checked with it, as the CLI does.
                p.validate(2 * p.spDegree(), model.numAttentionHeads(), model.numKeyValueHeads());
            } catch (ParallelConfigException e) {
                checks.reject("parallelMode", e.getMessage());
            }
        }
    }

    /** The shared fields' flags, after the evaluation's own. */
    static CommandLine render(CommandLine line, EvalSpec spec) {
        return line.flag("tokenizer", spec.tokenizer())
                .flag("ropeTheta", spec.ropeTheta())
                .flag("devices", spec.devices())
                .flag("parallelMode", spec.parallelMode().cliName())
                .flag("ulyssesDegree", spec.ulyssesDegree())
                .flag("ringDegree", spec.ringDegree())
                .flag("dtype", spec.dtype())
                .flag("seed", spec.seed())
                .flag("plot", spec.plot());
    }

    /** As the CLI reads {@code --model}: a preset or a directory, never a config file alone. */
    private static LlamaConfig model(Checks checks, String value) {
        try {
            if (Files.isRegularFile(Path.of(value))) {
                checks.reject("model", "must be a preset or a Hugging Face model directory, not the file '"
                        + value + "'");
                return null;
            }
            return Models.resolve(value);
        } catch (IllegalArgumentException e) {
            // InvalidPathException is one too.
            checks.reject("model", e.getMessage());
            return null;
        }
    }

    /**
     * A tokenizer that names ids the model does not have cannot run. Only the byte tokenizer's size is known without
     * loading a file; a tokenizer.json is checked when the evaluation opens it.
     */
    private static void checkTokenizer(Checks checks, EvalSpec spec, LlamaConfig model) {
        String tokenizer = spec.tokenizer();
        checks.maxLength("tokenizer", tokenizer, TrainSpec.MAX_PATH);
        if (tokenizer != null && !tokenizer.equals(Tokenizers.BYTE) && !exists(tokenizer)) {
            checks.reject("tokenizer", "must be " + Tokenizers.BYTE + ", a tokenizer.json or a directory holding one, "
                    + "not '" + tokenizer + "'");
            return;
        }
        if (model == null) {
            return;
        }
        boolean bytes = Tokenizers.BYTE.equals(tokenizer)
                || (tokenizer == null && !exists(Path.of(spec.model()).resolve(HfTokenizer.FILE).toString()));
        if (bytes && model.vocabSize() < ByteTokenizer.VOCAB_SIZE) {
            checks.reject("tokenizer", "bytes need " + ByteTokenizer.VOCAB_SIZE + " ids, more than the model's "
                    + "vocabulary of " + model.vocabSize() + "; give a model whose vocabulary holds them, or a "
                    + "tokenizer");
        }
    }

    private static boolean exists(String path) {
        return isPath(path, Files::exists);
    }

    /** Whether {@code path} is a path of this file system that passes {@code test}. */
    static boolean isPath(String path, Predicate<Path> test) {
        try {
            return test.test(Path.of(path));
        } catch (InvalidPathException e) {
            return false;
        }
    }
}
