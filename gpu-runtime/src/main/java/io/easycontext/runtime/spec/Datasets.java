package io.easycontext.runtime.spec;

import io.easycontext.runtime.train.DataSource;
import io.easycontext.runtime.train.SyntheticData;

import java.util.List;

/**
 * A spec's {@code dataset}: the training data a name stands for. Only the built-in synthetic corpus exists so far;
 * tokenized datasets on disk are added here, so that the CLI and the service accept the same names.
 */
public final class Datasets {

    public static final String SYNTHETIC = "synthetic";
    public static final List<String> KNOWN = List.of(SYNTHETIC);

    private Datasets() {
    }

    static boolean isKnown(String name) {
        return KNOWN.contains(name);
    }

    /** The data of {@code name} (one of {@link #KNOWN}) for a run with this seed and vocabulary. */
    public static DataSource open(String name, long seed, int vocabSize) {
        if (!isKnown(name)) {
            throw new IllegalArgumentException("unknown dataset '" + name + "'; known: " + KNOWN);
        }
        return new SyntheticData(seed, vocabSize);
    }
}
