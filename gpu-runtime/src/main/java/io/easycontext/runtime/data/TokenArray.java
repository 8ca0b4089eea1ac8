package io.easycontext.runtime.data;

import java.util.Arrays;

/** A token stream held in memory: what tokenizing text documents at the start of a run produces. */
public final class TokenArray implements TokenStream {

    private final int[] tokens;
    private final int vocabSize;
    private final String origin;

    public TokenArray(int[] tokens, int vocabSize, String origin) {
        this.tokens = tokens;
        this.vocabSize = vocabSize;
        this.origin = origin;
    }

    /** Collects documents' tokens into one stream. */
    public static final class Builder {
        private int[] tokens = new int[1 << 16];
        private int size;

        public void append(int[] ids) {
            if (size + ids.length > tokens.length) {
                long grown = Math.max((long) size + ids.length, 2L * tokens.length);
                if (grown > Integer.MAX_VALUE - 8) {
                    throw new IllegalStateException("more than 2^31 tokens do not fit in memory; tokenize the corpus "
                            + "to a token file first (the tokenize command)");
                }
                tokens = Arrays.copyOf(tokens, (int) grown);
            }
            System.arraycopy(ids, 0, tokens, size, ids.length);
            size += ids.length;
        }

        public TokenArray build(int vocabSize, String origin) {
            return new TokenArray(Arrays.copyOf(tokens, size), vocabSize, origin);
        }
    }

    @Override
    public long length() {
        return tokens.length;
    }

    @Override
    public void read(long start, int[] dst) {
        System.arraycopy(tokens, Math.toIntExact(start), dst, 0, dst.length);
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public String describe() {
        return origin;
    }
}
