package io.easycontext.runtime.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Writes safetensors files: the header, padded with spaces to a multiple of 8 bytes so that the data start
 * aligned, then each tensor's bytes in the order given. Values are produced one tensor at a time, so a file
 * larger than the heap can be written from device memory. The file is forced to disk before {@link #write}
 * returns.
 */
public final class SafetensorsWriter {

    /** One tensor to write; {@code values} is called once, when its bytes are due. */
    public record Entry(String name, SafetensorsDType dtype, long[] shape, Supplier<double[]> values) {
        public Entry {
            shape = shape.clone();
            if (name.equals(SafetensorsHeader.METADATA)) {
                throw new IllegalArgumentException("'" + name + "' is reserved for the metadata");
            }
        }

        public long numel() {
            return Arrays.stream(shape).reduce(1, Math::multiplyExact);
        }

        public long byteSize() {
            return Math.multiplyExact(numel(), dtype.bytes());
        }

        public static long[] shapeOf(int... dims) {
            return Arrays.stream(dims).asLongStream().toArray();
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int BUFFER_BYTES = 1 << 20;

    private SafetensorsWriter() {
    }

    /** Writes {@code entries} with {@code metadata} to {@code file}, replacing it. */
    public static void write(Path file, Map<String, String> metadata, List<Entry> entries) throws IOException {
        byte[] header = header(metadata, entries);
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer buffer = ByteBuffer.allocate(BUFFER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            buffer.putLong(header.length);
            writeAll(out, buffer.flip());
            writeAll(out, ByteBuffer.wrap(header));
            for (Entry e : entries) {
                double[] values = e.values().get();
                if (values.length != e.numel()) {
                    throw new IllegalArgumentException("tensor '" + e.name() + "' of shape "
                            + Arrays.toString(e.shape()) + " was given " + values.length + " values");
                }
                int perBuffer = BUFFER_BYTES / e.dtype().bytes();
                for (int start = 0; start < values.length; start += perBuffer) {
                    int count = Math.min(perBuffer, values.length - start);
                    buffer.clear();
                    e.dtype().encode(values, start, count, buffer);
                    writeAll(out, buffer.flip());
                }
            }
            out.force(true);
        }
    }

    private static byte[] header(Map<String, String> metadata, List<Entry> entries) {
        ObjectNode root = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode m = root.putObject(SafetensorsHeader.METADATA);
            metadata.forEach(m::put);
        }
        long offset = 0;
        for (Entry e : entries) {
            if (root.has(e.name())) {
                throw new IllegalArgumentException("tensor '" + e.name() + "' given twice");
            }
            ObjectNode t = root.putObject(e.name());
            t.put("dtype", e.dtype().name());
            ArrayNode shape = t.putArray("shape");
            Arrays.stream(e.shape()).forEach(shape::add);
            long end = offset + e.byteSize();
            t.putArray("data_offsets").add(offset).add(end);
            offset = end;
        }
        byte[] json;
        try {
            json = JSON.writeValueAsString(root).getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        byte[] padded = Arrays.copyOf(json, (json.length + 7) / 8 * 8);
        Arrays.fill(padded, json.length, padded.length, (byte) ' ');
        return padded;
    }

    private static void writeAll(FileChannel out, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            out.write(buffer);
        }
    }
}
