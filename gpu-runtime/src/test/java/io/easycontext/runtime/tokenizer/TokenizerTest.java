package io.easycontext.runtime.tokenizer;

import io.easycontext.runtime.data.Sotu;
import io.easycontext.runtime.io.InvalidFileException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TokenizerTest {

    @TempDir
    Path dir;

    private static List<Path> sotuFiles() throws IOException {
        try (Stream<Path> files = Files.list(Sotu.dir())) {
            return files.filter(f -> f.toString().endsWith(".txt")).sorted().toList();
        }
    }

    @Test
    void byteTokenizerRoundTripsEveryStateOfTheUnion() throws IOException {
        List<Path> files = sotuFiles();
        assertThat(files).hasSizeGreaterThan(200);
        long tokens = 0;
        for (Path f : files) {
            String text = Files.readString(f, StandardCharsets.UTF_8);
            int[] ids = ByteTokenizer.INSTANCE.encode(text);
            tokens += ids.length;
            assertThat(ids.length).isEqualTo(text.getBytes(StandardCharsets.UTF_8).length);
            assertThat(ByteTokenizer.INSTANCE.decode(ids)).isEqualTo(text);
        }
        assertThat(tokens).isGreaterThan(10_000_000);
        assertThat(ByteTokenizer.INSTANCE.encodeWithSpecialTokens("Hi")).containsExactly(256, 'H', 'i');
        assertThat(ByteTokenizer.INSTANCE.decode(new int[]{256, 'H', 'é' >> 6 | 0xC0, 'é' & 0x3F | 0x80, 257}))
                .isEqualTo("Hé");
    }

    @Test
    void huggingFaceByteLevelBpeRoundTripsStateOfTheUnionAddressesAndMerges() throws IOException {
        Path file = TestTokenizers.writeByteLevelBpe(dir, true);
        List<Path> files = sotuFiles();
        try (HfTokenizer t = HfTokenizer.load(file)) {
            assertThat(t.vocabSize()).isEqualTo(TestTokenizers.VOCAB_SIZE);
            assertThat(t.bos()).isEqualTo(OptionalInt.of(TestTokenizers.BOS));
            assertThat(t.eos()).isEqualTo(OptionalInt.of(TestTokenizers.EOS));
            // Every 8th address, 1790 to today: about 1.4 MB of prose through the Rust tokenizer.
            for (int i = 0; i < files.size(); i += 8) {
                String text = Files.readString(files.get(i), StandardCharsets.UTF_8);
                int[] ids = t.encode(text);
                assertThat(ids.length).as(files.get(i).toString()).isLessThan(text.length());
                assertThat(t.decode(ids)).as(files.get(i).toString()).isEqualTo(text);
            }
            // " the" is one merged token (id 258 = "Ġthe"); "<s>" comes from the post-processor only when asked.
            assertThat(t.encode("in the")).containsExactly(259, 258);
            assertThat(t.encodeWithSpecialTokens("in the")).containsExactly(TestTokenizers.BOS, 259, 258);
            assertThat(t.decode(new int[]{TestTokenizers.BOS, 259, 258, TestTokenizers.EOS})).isEqualTo("in the");
            // No truncation at 512 tokens (DJL's default) on a long text.
            assertThat(t.encode("x ".repeat(3000))).hasSize(6000);
        }
    }

    @Test
    void specialIdsComeFromConfigJsonWithoutATokenizerConfig() throws IOException {
        Path file = TestTokenizers.writeByteLevelBpe(dir, false);
        Files.writeString(dir.resolve("config.json"), "{\"bos_token_id\": 266, \"eos_token_id\": [267, 1]}");
        try (HfTokenizer t = HfTokenizer.load(dir)) {
            assertThat(t.bos()).isEqualTo(OptionalInt.of(266));
            assertThat(t.eos()).isEqualTo(OptionalInt.of(267));
        }
        Files.delete(dir.resolve("config.json"));
        try (Tokenizer t = Tokenizers.open(file.toString(), null)) {
            assertThat(t.bos()).isEmpty();
        }
    }

    @Test
    void unreadableTokenizersNameTheFile() throws IOException {
        Path garbage = dir.resolve("tokenizer.json");
        Files.writeString(garbage, "{\"model\": {\"type\": \"BPE\", \"vocab\": 3}");
        assertThatThrownBy(() -> HfTokenizer.load(garbage)).isInstanceOf(InvalidFileException.class)
                .hasMessageStartingWith(garbage.toString()).hasMessageContaining("not valid JSON");
        Files.writeString(garbage, "{\"version\": \"1.0\"}");
        assertThatThrownBy(() -> HfTokenizer.load(garbage)).hasMessageContaining("no 'model' object");
        Files.writeString(garbage, "{\"model\": {\"type\": \"Nonsense\", \"vocab\": {\"a\": 0}}}");
        assertThatThrownBy(() -> HfTokenizer.load(garbage)).isInstanceOf(InvalidFileException.class)
                .hasMessageStartingWith(garbage.toString()).hasMessageContaining("cannot be loaded");
        assertThatThrownBy(() -> Tokenizers.open(dir.resolve("nope").toString(), null))
                .hasMessageContaining("nope").hasMessageContaining("does not exist");
        TestTokenizers.writeByteLevelBpe(dir, false);
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"bos_token\": \"<bos>\"}");
        assertThatThrownBy(() -> HfTokenizer.load(dir)).hasMessageContaining("tokenizer_config.json")
                .hasMessageContaining("bos_token '<bos>'");
    }

    @Test
    void aModelDirectoryWithoutTokenizerFallsBackToBytes() {
        assertThat(Tokenizers.open(null, dir)).isSameAs(ByteTokenizer.INSTANCE);
        assertThat(Tokenizers.open("byte", null)).isSameAs(ByteTokenizer.INSTANCE);
    }
}
