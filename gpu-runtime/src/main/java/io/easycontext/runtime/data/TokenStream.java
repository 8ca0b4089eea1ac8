package io.easycontext.runtime.data;

/**
 * A corpus as one sequence of token ids, documents already joined with their BOS/EOS: what packing cuts into
 * windows. Reads are thread-safe, so every rank of a run can share one stream.
 */
public interface TokenStream {

    /** Tokens in the stream. */
    long length();

    /** Fills {@code dst} with the tokens from {@code start} on; {@code start + dst.length ≤ length()}. */
    void read(long start, int[] dst);

    /** The vocabulary the ids come from: every id is below it. */
    int vocabSize();

    /** Where the tokens come from, for logs and errors. */
    String describe();
}
