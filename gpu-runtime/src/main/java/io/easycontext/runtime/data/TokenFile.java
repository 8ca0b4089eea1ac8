package io.easycontext.runtime.data;

import io.easycontext.runtime.io.InvalidFileException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A pre-tokenized corpus on disk, read through memory mappings. The format, all little-endian:
 * <pre>
 *   offset  size  field
 *        0     8  magic "ECTOKENS"
 *        8     4  version, 1
 *       12     4  bytes per token: 2 (uint16) or 4 (uint32)
 *       16     8  token count n
 *       24     4  vocabulary size: every id is below it
 *       28     4  reserved, 0
 *       32  n·w   the tokens, unsigned
 * </pre>
 * uint16 serves vocabularies up to 65,536 ids (Llama 2's 32,000); larger ones (Llama 3's 128,256) take uint32.
 */
public final class TokenFile implements TokenStream, AutoCloseable {

    static final byte[] MAGIC = "ECTOKENS".getBytes(StandardCharsets.US_ASCII);
    static final int VERSION = 1;
    static final int HEADER_BYTES = 32;
    /** Bytes per mapping, a multiple of both token widths. */
    private static final long SEGMENT_BYTES = 1L << 30;

    private final Path path;
    private final FileChannel channel;
    private final int width;
    private final long count;
    private final int vocabSize;
    private final List<ByteBuffer> segments;

    private TokenFile(Path path, FileChannel channel, int width, long count, int vocabSize, List<ByteBuffer> segments) {
        this.path = path;
        this.channel = channel;
        this.width = width;
        this.count = count;
        this.vocabSize = vocabSize;
        this.segments = segments;
    }

    /** Whether {@code file} starts with this format's magic. */
    public static boolean isTokenFile(Path file) {
        try (FileChannel c = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer head = ByteBuffer.allocate(MAGIC.length);
            c.read(head, 0);
            return Arrays.equals(head.array(), MAGIC);
        } catch (IOException e) {
            return false;
        }
    }

    public static TokenFile open(Path file) {
        FileChannel channel;
        try {
            channel = FileChannel.open(file, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open token file " + file, e);
        }
        try {
            long size = channel.size();
            if (size < HEADER_BYTES) {
                throw new InvalidFileException(file, "is " + size + " bytes, shorter than the " + HEADER_BYTES
                        + "-byte token file header");
            }
            ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            while (header.hasRemaining()) {
                channel.read(header, header.position()); // the size check above guarantees the bytes exist
            }
            byte[] magic = Arrays.copyOf(header.array(), MAGIC.length);
            if (!Arrays.equals(magic, MAGIC)) {
                throw new InvalidFileException(file, "does not start with the token file magic 'ECTOKENS'");
            }
            int version = header.getInt(8);
            int width = header.getInt(12);
            long count = header.getLong(16);
            int vocab = header.getInt(24);
            if (version != VERSION) {
                throw new InvalidFileException(file, "has token file version " + version + "; this reader knows "
                        + VERSION);
            }
            if (width != 2 && width != 4) {
                throw new InvalidFileException(file, "has " + width + " bytes per token; 2 or 4 expected");
            }
            if (vocab <= 0 || (width == 2 && vocab > 65536)) {
                throw new InvalidFileException(file, "has vocabulary size " + vocab + ", impossible with " + width
                        + "-byte tokens");
            }
            if (count < 0 || count > (size - HEADER_BYTES) / width || HEADER_BYTES + count * width != size) {
                throw new InvalidFileException(file, "header says " + count + " tokens of " + width + " bytes, but "
                        + "the file has " + (size - HEADER_BYTES) + " bytes after the header (truncated?)");
            }
            List<ByteBuffer> segments = new ArrayList<>();
            for (long at = 0; at < count * width; at += SEGMENT_BYTES) {
                long length = Math.min(SEGMENT_BYTES, count * width - at);
                segments.add(channel.map(FileChannel.MapMode.READ_ONLY, HEADER_BYTES + at, length)
                        .order(ByteOrder.LITTLE_ENDIAN));
            }
            return new TokenFile(file, channel, width, count, vocab, segments);
        } catch (IOException e) {
            closeQuietly(channel);
            throw new UncheckedIOException("cannot read token file " + file, e);
        } catch (RuntimeException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    @Override
    public long length() {
        return count;
    }

    /** Absolute reads only: the mapped buffers' positions never move, so ranks read concurrently. */
    @Override
    public void read(long start, int[] dst) {
        if (start < 0 || start + dst.length > count) {
            throw new IndexOutOfBoundsException("tokens [" + start + ", " + (start + dst.length) + ") of " + count);
        }
        for (int i = 0; i < dst.length; i++) {
            long at = (start + i) * width;
            ByteBuffer segment = segments.get((int) (at / SEGMENT_BYTES));
            int offset = (int) (at % SEGMENT_BYTES);
            dst[i] = width == 2 ? segment.getShort(offset) & 0xffff : segment.getInt(offset);
        }
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public String describe() {
        return "token file " + path;
    }

    public Path path() {
        return path;
    }

    @Override
    public void close() {
        closeQuietly(channel);
    }

    private static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // Nothing was written through it.
        }
    }

    /** Streams tokens into a new token file; the count in the header is written on {@link #close}. */
    public static final class Writer implements AutoCloseable {
        private final Path path;
        private final FileChannel channel;
        private final int width;
        private final int vocabSize;
        private final ByteBuffer buffer = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        private long count;

        public Writer(Path path, int vocabSize) throws IOException {
            if (vocabSize <= 0) {
                throw new IllegalArgumentException("vocabulary size must be positive, got " + vocabSize);
            }
            this.path = path;
            this.vocabSize = vocabSize;
            this.width = vocabSize <= 65536 ? 2 : 4;
            this.channel = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING);
            channel.write(header(0), 0);
            channel.position(HEADER_BYTES);
        }

        public void append(int[] ids) throws IOException {
            for (int id : ids) {
                if (id < 0 || id >= vocabSize) {
                    throw new IllegalArgumentException("token " + id + " is outside the vocabulary of " + vocabSize
                            + " declared for " + path);
                }
                if (buffer.remaining() < width) {
                    flush();
                }
                if (width == 2) {
                    buffer.putShort((short) id);
                } else {
                    buffer.putInt(id);
                }
            }
            count += ids.length;
        }

        public long count() {
            return count;
        }

        public int bytesPerToken() {
            return width;
        }

        private void flush() throws IOException {
            buffer.flip();
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
            buffer.clear();
        }

        private ByteBuffer header(long tokens) {
            ByteBuffer h = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            h.put(MAGIC).putInt(VERSION).putInt(width).putLong(tokens).putInt(vocabSize).putInt(0);
            return h.flip();
        }

        @Override
        public void close() throws IOException {
            try {
                flush();
                channel.write(header(count), 0);
                channel.force(true);
            } finally {
                channel.close();
            }
        }
    }
}
