package io.easycontext.runtime.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.hf.HfModelDir;
import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.model.LlamaWeights;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * A {@code --model} value for the commands that need weights: a preset (weights drawn from the seed), a Hugging
 * Face directory with only a config (the same), or one with safetensors weights (loaded).
 */
record ModelArgument(String value, HfModelDir dir) {

    static ModelArgument parse(String value) {
        Path path = Path.of(value);
        if (Files.isDirectory(path)) {
            return new ModelArgument(value, HfModelDir.open(path));
        }
        if (!LlamaConfig.PRESETS.contains(value.toLowerCase(Locale.ROOT))) {
            throw new Flags.UsageException("--model '" + value + "' is neither a preset " + LlamaConfig.PRESETS
                    + " nor a Hugging Face model directory");
        }
        return new ModelArgument(value, null);
    }

    boolean hasWeights() {
        return dir != null && dir.hasWeights();
    }

    LlamaConfig config() {
        return dir == null ? LlamaConfig.preset(value) : dir.config();
    }

    /** The source's config.json, whose extra fields a saved copy keeps; null for a preset. */
    ObjectNode rawConfig() {
        return dir == null ? null : dir.rawConfig();
    }

    /** The weights on {@code backend}, with rope theta replaced when {@code ropeTheta} is not null. */
    LlamaWeights weights(Backend backend, long seed, Double ropeTheta) {
        if (hasWeights()) {
            return dir.load(backend, ropeTheta);
        }
        LlamaConfig c = config();
        return LlamaWeights.initialize(backend, ropeTheta == null ? c : c.withRope(ropeTheta, c.maxPositionEmbeddings()),
                seed);
    }
}
