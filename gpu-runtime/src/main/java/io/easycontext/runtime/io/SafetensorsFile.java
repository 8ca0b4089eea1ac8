package io.easycontext.runtime.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.Set;

/**
 * A safetensors file open for reading. The header is parsed and checked on open; tensor data are read through
 * read-only memory mappings of at most {@link #DEFAULT_SEGMENT_BYTES} each, since one {@code MappedByteBuffer}
 * cannot exceed 2 GiB while model files and single tensors can. Reads are thread-safe.
 */
public final class SafetensorsFile implements AutoCloseable {

    /** Bytes per mapping: a multiple of every element size, so no element straddles two mappings. */
    static final long DEFAULT_SEGMENT_BYTES = 1L << 30;

    private final Path path;
    private final FileChannel channel;
    private final SafetensorsHeader header;
    private final long segmentBytes;

    private SafetensorsFile(Path path, FileChannel channel, SafetensorsHeader header, long segmentBytes) {
        this.path = path;
        this.channel = channel;
        this.header = header;
        this.segmentBytes = segmentBytes;
    }

    public static SafetensorsFile open(Path file) {
        return open(file, DEFAULT_SEGMENT_BYTES);
    }

    /** With a smaller {@code segmentBytes}, tests exercise reads spanning several mappings on small files. */
    static SafetensorsFile open(Path file, long segmentBytes) {
        if (segmentBytes % 8 != 0 || segmentBytes <= 0 || segmentBytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("segment of " + segmentBytes + " bytes");
        }
        FileChannel channel;
        try {
            channel = FileChannel.open(file, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open safetensors file " + file, e);
        }
        try {
            long size = channel.size();
            SafetensorsHeader.checkSize(file, size);
            ByteBuffer first8 = ByteBuffer.allocate(8);
            readFully(channel, first8, 0);
            long n = SafetensorsHeader.headerLength(file, first8, size);
            ByteBuffer json = ByteBuffer.allocate((int) n);
            readFully(channel, json, 8);
            return new SafetensorsFile(file, channel, SafetensorsHeader.parse(file, json.array(), size), segmentBytes);
        } catch (IOException e) {
            closeQuietly(channel);
            throw new UncheckedIOException("cannot read safetensors file " + file, e);
        } catch (RuntimeException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    public Map<String, String> metadata() {
        return header.metadata();
    }

    /** Tensor names in header order. */
    public Set<String> names() {
        return header.tensors().keySet();
    }

    public boolean contains(String name) {
        return header.tensors().containsKey(name);
    }

    public TensorInfo info(String name) {
        TensorInfo info = header.tensors().get(name);
        if (info == null) {
            throw new InvalidFileException(path, "has no tensor '" + name + "'");
        }
        return info;
    }

    /** The tensor's values converted to float (exact for F32, BF16 and F16). */
    public float[] readFloats(String name) {
        TensorInfo info = info(name);
        float[] out = new float[elements(info)];
        read(info, (buffer, offset, count) -> info.dtype().decode(buffer, out, offset, count));
        return out;
    }

    /** The tensor's values converted to float64 (exact for every float type and integers up to 2^53). */
    public double[] readDoubles(String name) {
        TensorInfo info = info(name);
        double[] out = new double[elements(info)];
        read(info, (buffer, offset, count) -> info.dtype().decode(buffer, out, offset, count));
        return out;
    }

    private int elements(TensorInfo info) {
        if (info.numel() > Integer.MAX_VALUE - 8) {
            throw new InvalidFileException(path, "tensor '" + info.name() + "' has " + info.numel()
                    + " elements, more than a Java array holds");
        }
        return (int) info.numel();
    }

    private interface SegmentReader {
        void decode(ByteBuffer segment, int firstElement, int count);
    }

    private void read(TensorInfo info, SegmentReader reader) {
        int elementBytes = info.dtype().bytes();
        long start = header.dataStart() + info.begin();
        long remaining = info.byteSize();
        int element = 0;
        try {
            while (remaining > 0) {
                long length = Math.min(remaining, segmentBytes);
                ByteBuffer segment = channel.map(FileChannel.MapMode.READ_ONLY, start, length)
                        .order(ByteOrder.LITTLE_ENDIAN);
                int count = (int) (length / elementBytes);
                reader.decode(segment, element, count);
                element += count;
                start += length;
                remaining -= length;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read tensor '" + info.name() + "' from " + path, e);
        }
    }

    private static void readFully(FileChannel channel, ByteBuffer into, long position) throws IOException {
        while (into.hasRemaining()) {
            if (channel.read(into, position + into.position()) < 0) {
                throw new IOException("unexpected end of file");
            }
        }
    }

    private static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // Already failing with the more useful error.
        }
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot close " + path, e);
        }
    }
}
