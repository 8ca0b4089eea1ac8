package io.easycontext.runtime.eval.text;

import io.easycontext.runtime.tokenizer.Tokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

/**
 * The text a needle is hidden in, as tokens: every {@code .txt} file of a directory (in name order, so that every
 * rank and every run reads the same text) or a built-in filler, repeated until it is long enough. The text is
 * encoded once and its tokens repeated, without special tokens (EasyContext drops the BOS of its haystack too).
 */
public final class Haystack {

    /**
     * Plain sentences of similar length, each ending in a full stop, so that a needle can go in at any depth
     * without cutting a sentence. No digits and no colons: the needle's are the only ones.
     */
    public static final String FILLER = "The river runs down to the sea. The hills are quiet in the evening. "
            + "A cart rolls slowly along the road. Rain falls on the old roof. Birds sing in the early light. ";

    private final int[] tokens;
    private final String source;

    private Haystack(int[] tokens, String source) {
        this.tokens = tokens;
        this.source = source;
    }

    /** The built-in filler, repeated to at least {@code minTokens}. */
    public static Haystack filler(Tokenizer tokenizer, int minTokens) {
        return new Haystack(repeat(tokenizer.encode(FILLER), minTokens), "built-in filler");
    }

    /** Every {@code .txt} file under {@code dir} (not recursing), in name order, repeated to at least {@code minTokens}. */
    public static Haystack fromDirectory(Path dir, Tokenizer tokenizer, int minTokens) {
        List<Path> files;
        try (Stream<Path> list = Files.list(dir)) {
            files = list.filter(p -> p.getFileName().toString().endsWith(".txt") && Files.isRegularFile(p))
                    .sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list haystack directory " + dir, e);
        }
        if (files.isEmpty()) {
            throw new IllegalArgumentException("haystack directory " + dir + " has no .txt files");
        }
        StringBuilder text = new StringBuilder();
        for (Path f : files) {
            try {
                text.append(Files.readString(f, StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read haystack file " + f, e);
            }
        }
        int[] once = tokenizer.encode(text.toString());
        if (once.length == 0) {
            throw new IllegalArgumentException("the .txt files of " + dir + " are empty");
        }
        return new Haystack(repeat(once, minTokens), files.size() + " files of " + dir);
    }

    private static int[] repeat(int[] once, int minTokens) {
        int copies = Math.max(1, (minTokens + once.length - 1) / once.length);
        int[] all = new int[Math.multiplyExact(copies, once.length)];
        for (int c = 0; c < copies; c++) {
            System.arraycopy(once, 0, all, c * once.length, once.length);
        }
        return all;
    }

    /** The first {@code length} tokens. */
    public int[] prefix(int length) {
        if (length > tokens.length) {
            throw new IllegalArgumentException("the haystack has " + tokens.length + " tokens, not " + length);
        }
        return Arrays.copyOf(tokens, length);
    }

    public int length() {
        return tokens.length;
    }

    /** Where the text came from, for the logs and the results. */
    public String source() {
        return source;
    }
}
