package io.easycontext.runtime.tokenizer;

import java.util.OptionalInt;

/**
 * Text to token ids and back, for datasets and evaluations. {@link #encode} adds nothing; the caller decides where
 * beginning- and end-of-sequence tokens go (packing puts them around every document), while
 * {@link #encodeWithSpecialTokens} does what Hugging Face's {@code tokenizer(text)} does (a Llama tokenizer
 * prepends BOS). Implementations are safe to use from several threads.
 */
public interface Tokenizer extends AutoCloseable {

    /** The ids of {@code text}, with no special tokens added. */
    int[] encode(String text);

    /** The ids of {@code text} as Hugging Face's {@code tokenizer(text)["input_ids"]}: special tokens added. */
    int[] encodeWithSpecialTokens(String text);

    /** The text of {@code ids}, special tokens left out. */
    String decode(int[] ids);

    /** Ids run from 0 to {@code vocabSize() − 1}. */
    int vocabSize();

    /** The beginning-of-sequence id, where the vocabulary has one. */
    OptionalInt bos();

    /** The end-of-sequence id, where the vocabulary has one. */
    OptionalInt eos();

    /** A short description for logs. */
    String describe();

    @Override
    default void close() {
    }
}
