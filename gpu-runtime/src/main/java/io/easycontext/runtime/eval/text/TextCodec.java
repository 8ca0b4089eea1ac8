package io.easycontext.runtime.eval.text;

import java.util.OptionalInt;

/**
 * Text to token ids and back, as the evaluations need it. Kept to what they use so that a byte-level codec serves
 * until the project's tokenizers exist, and an adapter over those replaces it without touching the evaluations.
 */
public interface TextCodec {

    /** The ids of {@code text}, with no special tokens added. */
    int[] encode(String text);

    String decode(int[] ids);

    /** Ids run from 0 to {@code vocabSize() − 1}. */
    int vocabSize();

    /** The beginning-of-sequence id a document starts with, where the vocabulary has one. */
    OptionalInt bos();

    /**
     * Whether {@code id} ends a sentence: its text is a full stop (for SentencePiece, {@code "."} and {@code "▁."}).
     * A needle goes in just after such a token, so that it never cuts a sentence in two.
     */
    boolean endsSentence(int id);
}
