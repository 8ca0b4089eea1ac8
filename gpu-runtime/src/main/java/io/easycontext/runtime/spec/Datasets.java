package io.easycontext.runtime.spec;

import io.easycontext.runtime.data.PackedDataset;
import io.easycontext.runtime.tokenizer.Tokenizer;
import io.easycontext.runtime.train.DataSource;
import io.easycontext.runtime.train.SyntheticData;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;

/**
 * A spec's {@code dataset}: the training data a name stands for: the built-in synthetic corpus, or a path to a
 * corpus on disk (a token file, a {@code .jsonl} file or a directory of {@code .txt} files; see
 * {@link PackedDataset}), so that the CLI and the service accept the same names.
 */
public final class Datasets {

    public static final String SYNTHETIC = "synthetic";
    public static final List<String> KNOWN = List.of(SYNTHETIC);

    private Datasets() {
    }

    static boolean isKnown(String name) {
        return KNOWN.contains(name) || isPath(name);
    }

    private static boolean isPath(String name) {
        try {
            return Files.exists(Path.of(name));
        } catch (InvalidPathException e) {
            return false;
        }
    }

    /**
     * The data of {@code name} (one of {@link #KNOWN}, or a path) for a run with this seed and vocabulary; a corpus
     * on disk is tokenized by {@code tokenizer} (unless already a token file) and packed into windows of
     * {@code seqLength + 1} tokens.
     */
    public static DataSource open(String name, long seed, int vocabSize, int seqLength, Tokenizer tokenizer) {
        if (KNOWN.contains(name)) {
            return new SyntheticData(seed, vocabSize);
        }
        if (!isPath(name)) {
            throw new IllegalArgumentException("unknown dataset '" + name + "'; known: " + KNOWN + " or a path");
        }
        return PackedDataset.open(Path.of(name), tokenizer, seqLength, seed, vocabSize);
    }
}
