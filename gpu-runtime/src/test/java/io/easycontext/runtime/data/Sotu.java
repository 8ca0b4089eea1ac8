package io.easycontext.runtime.data;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The State of the Union corpus in the workspace's {@code shared/data/sotu}: 233 public-domain addresses, real prose
 * for the tokenizer and dataset tests. Found from the module directory or the project root, wherever the checkout is.
 */
public final class Sotu {

    private Sotu() {
    }

    /** The directory, or a skipped test saying where it was looked for. */
    public static Path dir() {
        Path here = Path.of("").toAbsolutePath();
        for (Path p = here; p != null; p = p.getParent()) {
            Path candidate = p.resolve("shared/data/sotu");
            if (Files.isDirectory(candidate)) {
                return candidate;
            }
        }
        Assumptions.abort("shared/data/sotu not found in " + here + " or any directory above it");
        return null;
    }
}
