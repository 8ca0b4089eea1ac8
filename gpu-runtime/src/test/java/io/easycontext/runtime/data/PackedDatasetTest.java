package io.easycontext.runtime.data;

import io.easycontext.runtime.io.InvalidFileException;
import io.easycontext.runtime.tokenizer.ByteTokenizer;
import io.easycontext.runtime.train.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PackedDatasetTest {

    private static final int BOS = ByteTokenizer.BOS;
    private static final int EOS = ByteTokenizer.EOS;

    @TempDir
    Path dir;

    @Test
    void textDocumentsArePackedWithBosAndEosIntoShiftedWindows() throws IOException {
        Path corpus = Files.createDirectories(dir.resolve("txt"));
        Files.writeString(corpus.resolve("b.txt"), "cd");
        Files.writeString(corpus.resolve("a.txt"), "ab");
        Files.writeString(corpus.resolve("ignored.md"), "zz");
        // Stream (name order): BOS a b EOS BOS c d EOS = 8 tokens; windows of 3+1 → two windows.
        PackedDataset data = PackedDataset.open(corpus, ByteTokenizer.INSTANCE, 3, 1, 300);
        assertThat(data.windows()).isEqualTo(2);
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 2; i++) {
            DataSource.Sample s = data.sample(i, 3);
            seen.add(Arrays.toString(s.inputIds()) + Arrays.toString(s.targets()));
        }
        assertThat(seen).containsExactlyInAnyOrder("[256, 97, 98][97, 98, 257]", "[256, 99, 100][99, 100, 257]");
    }

    @Test
    void shuffleIsAPermutationPerEpochFixedBySeedAndEpoch() {
        int[] stream = IntStream.range(0, 10 * 5 + 3).map(i -> i % 250).toArray();
        PackedDataset a = new PackedDataset(new TokenArray(stream, 258, "numbers"), 4, 7);
        PackedDataset b = new PackedDataset(new TokenArray(stream, 258, "numbers"), 4, 7);
        PackedDataset other = new PackedDataset(new TokenArray(stream, 258, "numbers"), 4, 8);
        assertThat(a.windows()).isEqualTo(10);
        long[] epoch0 = IntStream.range(0, 10).mapToLong(a::window).toArray();
        long[] epoch1 = IntStream.range(10, 20).mapToLong(a::window).toArray();
        assertThat(epoch0).containsExactlyInAnyOrder(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
        assertThat(epoch1).containsExactlyInAnyOrder(0, 1, 2, 3, 4, 5, 6, 7, 8, 9).isNotEqualTo(epoch0);
        // Asked in any order, from a fresh instance: the same windows.
        assertThat(IntStream.iterate(19, i -> i - 1).limit(20).mapToLong(b::window).toArray())
                .containsExactly(IntStream.iterate(19, i -> i - 1).limit(20).mapToLong(a::window).toArray());
        assertThat(IntStream.range(0, 10).mapToLong(other::window).toArray()).isNotEqualTo(epoch0);
        DataSource.Sample s = a.sample(3, 4);
        long w = a.window(3);
        assertThat(s.inputIds()).containsExactly(IntStream.range(0, 4).map(i -> (int) (w * 5 + i)).toArray());
        assertThat(s.targets()).containsExactly(IntStream.range(1, 5).map(i -> (int) (w * 5 + i)).toArray());
    }

    @Test
    void jsonLinesTakeTextOrGivenIds() throws IOException {
        Path f = dir.resolve("docs.jsonl");
        Files.writeString(f, "{\"text\": \"hi\", \"meta\": 1}\n\n{\"input_ids\": [5, 6, 7]}\n");
        PackedDataset data = PackedDataset.open(f, ByteTokenizer.INSTANCE, 6, 0, 258);
        DataSource.Sample s = data.sample(0, 6);
        assertThat(s.inputIds()).containsExactly(BOS, 'h', 'i', EOS, 5, 6);
        assertThat(s.targets()).containsExactly('h', 'i', EOS, 5, 6, 7);

        Files.writeString(f, "{\"text\": \"ok\"}\n{\"body\": \"no\"}\n");
        assertThatThrownBy(() -> PackedDataset.open(f, ByteTokenizer.INSTANCE, 2, 0, 258))
                .isInstanceOf(InvalidFileException.class).hasMessageContaining(f.toString())
                .hasMessageContaining("line 2").hasMessageContaining("'text'");
        Files.writeString(f, "{\"input_ids\": [1, 999]}\n");
        assertThatThrownBy(() -> PackedDataset.open(f, ByteTokenizer.INSTANCE, 1, 0, 258))
                .hasMessageContaining(f + " line 1").hasMessageContaining("999");
    }

    @Test
    void aDatasetShorterThanOneWindowSaysSo() throws IOException {
        Path f = dir.resolve("short.jsonl");
        Files.writeString(f, "{\"text\": \"abc\"}\n");
        assertThatThrownBy(() -> PackedDataset.open(f, ByteTokenizer.INSTANCE, 64, 0, 258))
                .hasMessageContaining(f.toString()).hasMessageContaining("5 tokens")
                .hasMessageContaining("seq_length + 1 = 65");
    }

    @Test
    void tokenFilesRoundTripAndRefuseCorruption() throws IOException {
        Path small = dir.resolve("small.tok");
        try (TokenFile.Writer w = new TokenFile.Writer(small, 258)) {
            w.append(new int[]{256, 1, 2, 257});
            w.append(new int[]{256, 65535 % 258, 257});
        }
        assertThat(Files.size(small)).isEqualTo(32 + 7 * 2);
        Path big = dir.resolve("big.tok");
        try (TokenFile.Writer w = new TokenFile.Writer(big, 128_256)) {
            w.append(new int[]{128_000, 70_000, 3});
        }
        try (TokenFile f = TokenFile.open(big)) {
            int[] out = new int[3];
            f.read(0, out);
            assertThat(out).containsExactly(128_000, 70_000, 3);
            assertThat(f.vocabSize()).isEqualTo(128_256);
        }
        PackedDataset data = PackedDataset.open(small, ByteTokenizer.INSTANCE, 2, 0, 258);
        assertThat(data.windows()).isEqualTo(2);
        assertThatThrownBy(() -> PackedDataset.open(big, ByteTokenizer.INSTANCE, 1, 0, 32_000))
                .hasMessageContaining("128256").hasMessageContaining("vocab_size 32000");

        try (RandomAccessFile raf = new RandomAccessFile(small.toFile(), "rw")) {
            raf.setLength(raf.length() - 1);
        }
        assertThatThrownBy(() -> TokenFile.open(small)).isInstanceOf(InvalidFileException.class)
                .hasMessageContaining(small.toString()).hasMessageContaining("7 tokens of 2 bytes")
                .hasMessageContaining("truncated");
        try (RandomAccessFile raf = new RandomAccessFile(small.toFile(), "rw")) {
            raf.seek(12);
            raf.write(3);
        }
        assertThatThrownBy(() -> TokenFile.open(small)).hasMessageContaining("3 bytes per token");
    }
}
