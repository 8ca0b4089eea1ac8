package io.easycontext.runtime.eval.text;

import java.nio.charset.StandardCharsets;
import java.util.OptionalInt;

/**
 * UTF-8 bytes as tokens: 256 ids, no special tokens. It fits the test-sized presets (vocabulary 256) and the
 * passkey recipe, where a tiny model learns to copy digits that are single tokens.
 */
public final class ByteCodec implements TextCodec {

    public static final ByteCodec INSTANCE = new ByteCodec();

    private static final int FULL_STOP = '.';

    private ByteCodec() {
    }

    @Override
    public int[] encode(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            ids[i] = bytes[i] & 0xFF;
        }
        return ids;
    }

    @Override
    public String decode(int[] ids) {
        byte[] bytes = new byte[ids.length];
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] > 255) {
                throw new IllegalArgumentException("token " + ids[i] + " is not a byte");
            }
            bytes[i] = (byte) ids[i];
        }
        return new String(bytes, StandardCharsets.UTF_8);
    }

    @Override
    public int vocabSize() {
        return 256;
    }

    @Override
    public OptionalInt bos() {
        return OptionalInt.empty();
    }

    @Override
    public boolean endsSentence(int id) {
        return id == FULL_STOP;
    }
}
