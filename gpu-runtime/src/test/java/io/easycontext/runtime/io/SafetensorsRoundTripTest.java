package io.easycontext.runtime.io;

import io.easycontext.runtime.tensor.Fp16;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SafetensorsRoundTripTest {

    @TempDir
    Path dir;

    /** Values every type holds exactly, so that a round trip must return them bit for bit. */
    private static double[] valuesFor(SafetensorsDType t, int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = switch (t) {
                case F64 -> Math.PI * (i - 3) / 7;
                case F32 -> (float) (Math.E * (i - 5) / 3);
                case F16, BF16 -> (i - 4) * 0.25;
                case I64 -> (i - 6) * 1_000_000_007L;
                case I32 -> (i - 6) * 100_003;
                case I16 -> (i - 6) * 1_001;
                case I8 -> i - 6;
                case U8 -> 250 - i;
                case BOOL -> i % 2;
            };
        }
        return v;
    }

    @Test
    void everyTypeRoundTripsWithItsShapeOffsetsAndMetadata() throws Exception {
        Path file = dir.resolve("all.safetensors");
        List<SafetensorsWriter.Entry> entries = new ArrayList<>();
        for (SafetensorsDType t : SafetensorsDType.values()) {
            entries.add(new SafetensorsWriter.Entry("t." + t, t, new long[]{3, 4}, () -> valuesFor(t, 12)));
        }
        entries.add(new SafetensorsWriter.Entry("scalar", SafetensorsDType.F32, new long[]{}, () -> new double[]{2.5}));
        entries.add(new SafetensorsWriter.Entry("empty", SafetensorsDType.F32, new long[]{0, 5}, () -> new double[0]));
        SafetensorsWriter.write(file, Map.of("format", "pt", "note", "ünïcode"), entries);

        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertThat(f.metadata()).containsEntry("format", "pt").containsEntry("note", "ünïcode");
            assertThat(f.names()).hasSize(SafetensorsDType.values().length + 2);
            long expectedBegin = 0;
            for (SafetensorsDType t : SafetensorsDType.values()) {
                TensorInfo info = f.info("t." + t);
                assertThat(info.dtype()).isEqualTo(t);
                assertThat(info.shape()).containsExactly(3, 4);
                assertThat(info.begin()).isEqualTo(expectedBegin);
                assertThat(info.byteSize()).isEqualTo(12L * t.bytes());
                expectedBegin = info.end();
                assertThat(f.readDoubles("t." + t)).as(t.name()).containsExactly(valuesFor(t, 12));
            }
            assertThat(f.readDoubles("scalar")).containsExactly(2.5);
            assertThat(f.info("scalar").shape()).isEmpty();
            assertThat(f.readFloats("empty")).isEmpty();
            assertThat(f.readFloats("t.BF16")).containsExactly(-1f, -0.75f, -0.5f, -0.25f, 0f, 0.25f, 0.5f, 0.75f, 1f,
                    1.25f, 1.5f, 1.75f);
        }
        // The header is padded so the data start 8-byte aligned, and its length field is little-endian.
        byte[] bytes = Files.readAllBytes(file);
        long headerLength = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertThat(headerLength % 8).isZero();
        assertThat(new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8)).startsWith("{\"__metadata__\"");
    }

    @Test
    void floatTypesRoundToNearestEvenOnWrite() throws Exception {
        Path file = dir.resolve("round.safetensors");
        double[] v = {1 + 0x1p-9, 1 + 3 * 0x1p-9, 1 + 0x1p-12, 65519, 1e-8, 0.1};
        SafetensorsWriter.write(file, Map.of(), List.of(
                new SafetensorsWriter.Entry("bf", SafetensorsDType.BF16, new long[]{6}, () -> v),
                new SafetensorsWriter.Entry("h", SafetensorsDType.F16, new long[]{6}, () -> v)));
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            // bf16 keeps 8 significant bits: 1 + 2^-9 is a tie that rounds to even (1), 1 + 3·2^-9 rounds up.
            assertThat(f.readFloats("bf")).startsWith(1f, 1 + 0x1p-7f, 1f);
            // fp16: 65519 rounds to its largest finite value, 1e-8 underflows to 0, 0.1 to 0x2E66.
            float[] h = f.readFloats("h");
            assertThat(h[3]).isEqualTo(65504f);
            assertThat(h[4]).isZero();
            assertThat(h[5]).isEqualTo(Fp16.toFloat((short) 0x2E66));
        }
    }

    @Test
    void fp16ConversionRoundTripsEveryHalfAndMatchesKnownEncodings() {
        for (int bits = 0; bits < 0x10000; bits++) {
            short h = (short) bits;
            float f = Fp16.toFloat(h);
            if (!Float.isNaN(f)) {
                assertThat(Fp16.fromFloat(f)).as("0x%04x", bits).isEqualTo(h);
            }
        }
        assertThat(Fp16.fromFloat(1f)).isEqualTo((short) 0x3C00);
        assertThat(Fp16.fromFloat(-2f)).isEqualTo((short) 0xC000);
        assertThat(Fp16.fromFloat(0x1p-24f)).isEqualTo((short) 0x0001);
        assertThat(Fp16.fromFloat(0x1p-25f)).isEqualTo((short) 0); // a tie below the smallest subnormal: to even
        assertThat(Fp16.fromFloat(65520f)).isEqualTo((short) 0x7C00);
        assertThat(Float.isNaN(Fp16.toFloat(Fp16.fromFloat(Float.NaN)))).isTrue();
    }

    @Test
    void tensorsSpanningSeveralMappingsReadWhole() throws Exception {
        Path file = dir.resolve("big.safetensors");
        double[] v = new double[1001];
        for (int i = 0; i < v.length; i++) {
            v[i] = i * 0.5 - 17;
        }
        SafetensorsWriter.write(file, Map.of(), List.of(
                new SafetensorsWriter.Entry("odd", SafetensorsDType.U8, new long[]{3}, () -> new double[]{1, 2, 3}),
                new SafetensorsWriter.Entry("x", SafetensorsDType.F32, new long[]{1001}, () -> v),
                new SafetensorsWriter.Entry("y", SafetensorsDType.F64, new long[]{7, 143}, () -> v.clone())));
        // 64-byte mappings: each tensor crosses many of them, and "x" starts at an odd offset.
        try (SafetensorsFile f = SafetensorsFile.open(file, 64)) {
            assertThat(f.info("x").begin()).isEqualTo(3);
            assertThat(f.readDoubles("x")).containsExactly(v);
            assertThat(f.readDoubles("y")).containsExactly(v);
            assertThat(f.readDoubles("odd")).containsExactly(1, 2, 3);
        }
    }

    @Test
    void writerRefusesValuesThatDoNotFitTheShapeOrType() {
        Path file = dir.resolve("bad.safetensors");
        assertThatThrownBy(() -> SafetensorsWriter.write(file, Map.of(), List.of(
                        new SafetensorsWriter.Entry("w", SafetensorsDType.F32, new long[]{2, 2}, () -> new double[3]))))
                .hasMessageContaining("'w'").hasMessageContaining("3 values");
        assertThatThrownBy(() -> SafetensorsWriter.write(file, Map.of(), List.of(
                        new SafetensorsWriter.Entry("i", SafetensorsDType.I8, new long[]{1}, () -> new double[]{300}))))
                .hasMessageContaining("300.0 is not a I8 value");
    }
}
