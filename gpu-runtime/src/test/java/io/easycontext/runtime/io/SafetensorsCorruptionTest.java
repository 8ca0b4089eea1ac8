package io.easycontext.runtime.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Each way a file can be broken fails on open, naming the file and the tensor or field at fault. */
class SafetensorsCorruptionTest {

    @TempDir
    Path dir;

    /** A file with {@code header} as its JSON and {@code dataBytes} bytes of data. */
    private Path file(String name, String header, int dataBytes) throws IOException {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + json.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(json.length).put(json);
        Path f = dir.resolve(name);
        Files.write(f, b.array());
        return f;
    }

    private static void assertFails(Path f, String... parts) {
        var thrown = assertThatThrownBy(() -> SafetensorsFile.open(f).close())
                .isInstanceOf(InvalidFileException.class).hasMessageStartingWith(f.toString());
        for (String p : parts) {
            thrown.hasMessageContaining(p);
        }
    }

    @Test
    void fileShorterThanTheLengthField() throws IOException {
        Path f = dir.resolve("tiny.safetensors");
        Files.write(f, new byte[]{1, 2, 3});
        assertFails(f, "3 bytes", "too short");
    }

    @Test
    void headerLengthBeyondTheFile() throws IOException {
        Path f = dir.resolve("len.safetensors");
        ByteBuffer b = ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN).putLong(1_000);
        Files.write(f, b.array());
        assertFails(f, "header length 1000", "20 bytes");
    }

    @Test
    void headerLengthWithTheTopBitSetIsNotANegativeNumber() throws IOException {
        Path f = dir.resolve("neg.safetensors");
        Files.write(f, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-8).array());
        assertFails(f, "header length 18446744073709551608");
    }

    @Test
    void headerThatIsNotJson() throws IOException {
        assertFails(file("json.safetensors", "{\"w\": {\"dtype\": \"F32\",", 0), "not valid JSON");
        assertFails(file("array.safetensors", "[1, 2]", 0), "must be a JSON object");
    }

    @Test
    void offsetsBeyondTheFileAsInATruncatedDownload() throws Exception {
        Path whole = dir.resolve("whole.safetensors");
        SafetensorsWriter.write(whole, Map.of(), List.of(
                new SafetensorsWriter.Entry("a", SafetensorsDType.F32, new long[]{4}, () -> new double[4]),
                new SafetensorsWriter.Entry("b", SafetensorsDType.F32, new long[]{4}, () -> new double[4])));
        byte[] bytes = Files.readAllBytes(whole);
        Path cut = dir.resolve("cut.safetensors");
        Files.write(cut, Arrays.copyOf(bytes, bytes.length - 3));
        assertFails(cut, "tensor 'b'", "data_offsets [16, 32]", "29 bytes of data");
    }

    @Test
    void dtypeAndShapeThatDisagreeWithTheOffsets() throws IOException {
        assertFails(file("shape.safetensors",
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,16]}}", 16),
                "tensor 'w'", "holds 16 bytes", "F32", "[2, 3]", "need 24");
        assertFails(file("dtype.safetensors",
                "{\"w\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2), "tensor 'w'", "\"Q4\"");
        assertFails(file("noshape.safetensors",
                "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4), "tensor 'w'", "shape");
        assertFails(file("negshape.safetensors",
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4), "tensor 'w'", "non-negative");
        assertFails(file("backwards.safetensors",
                "{\"w\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,2]}}", 4), "tensor 'w'", "end before");
    }

    @Test
    void overlappingTensorsAndBadMetadata() throws IOException {
        assertFails(file("overlap.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12), "'a'", "'b'", "overlap");
        assertFails(file("meta.safetensors", "{\"__metadata__\":{\"step\":3}}", 0), "__metadata__", "'step'");
    }

    @Test
    void askingForAMissingTensorNamesIt() throws Exception {
        Path f = dir.resolve("one.safetensors");
        SafetensorsWriter.write(f, Map.of(), List.of(
                new SafetensorsWriter.Entry("a", SafetensorsDType.F32, new long[]{1}, () -> new double[1])));
        try (SafetensorsFile s = SafetensorsFile.open(f)) {
            assertThatThrownBy(() -> s.readFloats("model.norm.weight")).isInstanceOf(InvalidFileException.class)
                    .hasMessage(f + ": has no tensor 'model.norm.weight'");
        }
    }
}
