package io.easycontext.runtime.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.OptionalInt;

/**
 * UTF-8 bytes as tokens 0–255, with BOS = 256 and EOS = 257: for models that come without a tokenizer. Any text
 * round-trips exactly. Like a Llama tokenizer, {@link #encodeWithSpecialTokens} prepends BOS only.
 */
public final class ByteTokenizer implements Tokenizer {

    public static final ByteTokenizer INSTANCE = new ByteTokenizer();
    public static final int BOS = 256;
    public static final int EOS = 257;
    public static final int VOCAB_SIZE = 258;

    private ByteTokenizer() {
    }

    @Override
    public int[] encode(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            ids[i] = bytes[i] & 0xff;
        }
        return ids;
    }

    @Override
    public int[] encodeWithSpecialTokens(String text) {
        int[] body = encode(text);
        int[] ids = new int[body.length + 1];
        ids[0] = BOS;
        System.arraycopy(body, 0, ids, 1, body.length);
        return ids;
    }

    /** Malformed UTF-8 (ids cut mid-character) decodes to U+FFFD, as Hugging Face's byte-level decoders do. */
    @Override
    public String decode(int[] ids) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(ids.length);
        for (int id : ids) {
            if (id < 0 || id >= VOCAB_SIZE) {
                throw new IllegalArgumentException("token " + id + " is outside the byte vocabulary of " + VOCAB_SIZE);
            }
            if (id < BOS) {
                bytes.write(id);
            }
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Override
    public int vocabSize() {
        return VOCAB_SIZE;
    }

    @Override
    public OptionalInt bos() {
        return OptionalInt.of(BOS);
    }

    @Override
    public OptionalInt eos() {
        return OptionalInt.of(EOS);
    }

    @Override
    public String describe() {
        return "byte-level tokenizer (256 bytes, BOS 256, EOS 257)";
    }
}
