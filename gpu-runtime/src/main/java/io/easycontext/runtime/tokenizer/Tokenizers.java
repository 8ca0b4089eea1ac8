package io.easycontext.runtime.tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;

/** What a {@code --tokenizer} value names. */
public final class Tokenizers {

    public static final String BYTE = "byte";

    private Tokenizers() {
    }

    /**
     * {@code byte} for the built-in byte-level tokenizer; a {@code tokenizer.json} or a directory holding one; or,
     * with {@code spec} null, the tokenizer of the model directory {@code modelDir} if it has one, else bytes.
     */
    public static Tokenizer open(String spec, Path modelDir) {
        if (spec == null) {
            boolean modelHasOne = modelDir != null && Files.isRegularFile(modelDir.resolve(HfTokenizer.FILE));
            return modelHasOne ? HfTokenizer.load(modelDir) : ByteTokenizer.INSTANCE;
        }
        if (spec.equals(BYTE)) {
            return ByteTokenizer.INSTANCE;
        }
        return HfTokenizer.load(Path.of(spec));
    }
}
