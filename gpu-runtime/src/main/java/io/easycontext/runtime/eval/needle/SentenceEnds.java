package io.easycontext.runtime.eval.needle;

import io.easycontext.runtime.tokenizer.Tokenizer;

import java.util.BitSet;

/**
 * The tokens that end a sentence: those whose text is a full stop, give or take spaces (for a Llama tokenizer
 * {@code "."} and {@code "▁."}, EasyContext's two period tokens; for bytes, {@code '.'}). Found once over the
 * whole vocabulary, so that any tokenizer works without a list of ids.
 */
final class SentenceEnds {

    private final BitSet ends = new BitSet();

    SentenceEnds(Tokenizer tokenizer) {
        for (int id = 0; id < tokenizer.vocabSize(); id++) {
            if (tokenizer.decode(new int[] {id}).strip().equals(".")) {
                ends.set(id);
            }
        }
        if (ends.isEmpty()) {
            throw new IllegalArgumentException(tokenizer.describe() + " has no token for a full stop, after which "
                    + "a needle would go");
        }
    }

    boolean test(int id) {
        return ends.get(id);
    }
}
