package io.easycontext.runtime.spec;

import io.easycontext.runtime.hf.HfConfigJson;
import io.easycontext.runtime.io.InvalidFileException;
import io.easycontext.runtime.model.LlamaConfig;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Locale;

/** What a spec's {@code model} names: a preset, a Hugging Face model directory, or its {@code config.json}. */
public final class Models {

    private Models() {
    }

    /**
     * The model's shape. Throws {@link IllegalArgumentException} with a message that reads after the field's name,
     * e.g. {@code 'gpt2' is neither a preset [...] nor a directory with a config.json}.
     */
    public static LlamaConfig resolve(String value) {
        Path config = configFile(value);
        if (config != null) {
            try {
                return HfConfigJson.read(config);
            } catch (UncheckedIOException | IllegalArgumentException | InvalidFileException e) {
                throw new IllegalArgumentException("'" + value + "' has an unusable config.json: " + e.getMessage(), e);
            }
        }
        if (!LlamaConfig.PRESETS.contains(value.toLowerCase(Locale.ROOT))) {
            throw new IllegalArgumentException("'" + value + "' is neither a preset " + LlamaConfig.PRESETS
                    + " nor a directory with a config.json");
        }
        return LlamaConfig.preset(value);
    }

    private static Path configFile(String value) {
        try {
            Path path = Path.of(value);
            if (Files.isDirectory(path)) {
                path = path.resolve("config.json");
            }
            return Files.isRegularFile(path) ? path : null;
        } catch (InvalidPathException e) {
            return null;
        }
    }
}
