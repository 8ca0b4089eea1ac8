package io.easycontext.runtime.data;

import io.easycontext.runtime.io.InvalidFileException;
import io.easycontext.runtime.tokenizer.Tokenizer;
import io.easycontext.runtime.train.DataSource;

import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Training sequences packed from a token stream, as EasyContext reads its pre-chunked data: the stream is cut into
 * consecutive windows of {@code seqLength + 1} tokens (a trailing partial window is dropped), and window {@code w}
 * gives {@code input = ids[0, L)} and {@code target = ids[1, L+1)}. Every epoch visits every window once, in an order
 * shuffled by the seed and the epoch number only, so sample {@code i} is the same on every rank and in every run
 * with that seed: ranks take the same sample and keep their shard, and a resumed run reads on where it stopped.
 */
public final class PackedDataset implements DataSource {

    private final TokenStream tokens;
    private final int seqLength;
    private final long seed;
    private final long windows;
    /** The permutation of the last epoch asked for; ranks work in the same epoch, so one is enough. */
    private final AtomicReference<Epoch> epoch = new AtomicReference<>();

    private record Epoch(long number, int[] order) {
    }

    public PackedDataset(TokenStream tokens, int seqLength, long seed) {
        if (seqLength < 1) {
            throw new IllegalArgumentException("seq_length must be positive, got " + seqLength);
        }
        this.tokens = tokens;
        this.seqLength = seqLength;
        this.seed = seed;
        this.windows = tokens.length() / (seqLength + 1L);
        if (windows == 0) {
            throw new IllegalArgumentException(tokens.describe() + " holds " + tokens.length() + " tokens, fewer than "
                    + "one window of seq_length + 1 = " + (seqLength + 1));
        }
        if (windows > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(tokens.describe() + " has " + windows + " windows; at most 2^31 are "
                    + "shuffled");
        }
    }

    /**
     * The packed dataset at {@code path}: a token file (written by {@code tokenize}), a {@code .jsonl} file or a
     * directory of {@code .txt} files, tokenized now by {@code tokenizer}. Its ids must fit a model of
     * {@code modelVocabSize}.
     */
    public static PackedDataset open(Path path, Tokenizer tokenizer, int seqLength, long seed, int modelVocabSize) {
        TokenStream stream;
        if (TokenFile.isTokenFile(path)) {
            stream = TokenFile.open(path);
        } else {
            TokenArray.Builder builder = new TokenArray.Builder();
            Documents.read(path, d -> builder.append(Documents.tokens(d, tokenizer)));
            stream = builder.build(tokenizer.vocabSize(), path + " tokenized by " + tokenizer.describe());
        }
        if (stream.vocabSize() > modelVocabSize) {
            throw new InvalidFileException(path, "has ids from a vocabulary of " + stream.vocabSize()
                    + ", more than the model's vocab_size " + modelVocabSize);
        }
        return new PackedDataset(stream, seqLength, seed);
    }

    /** Whole windows per epoch. */
    public long windows() {
        return windows;
    }

    @Override
    public Sample sample(long index, int seqLength) {
        if (seqLength != this.seqLength) {
            throw new IllegalArgumentException("this dataset is packed into windows of " + (this.seqLength + 1)
                    + " tokens, not " + (seqLength + 1));
        }
        int[] window = new int[seqLength + 1];
        tokens.read(window(index) * (seqLength + 1), window);
        int[] input = new int[seqLength];
        int[] target = new int[seqLength];
        System.arraycopy(window, 0, input, 0, seqLength);
        System.arraycopy(window, 1, target, 0, seqLength);
        return new Sample(input, target);
    }

    /** The window that sample {@code index} reads. */
    long window(long index) {
        if (index < 0) {
            throw new IllegalArgumentException("sample index " + index + " is negative");
        }
        long number = index / windows;
        Epoch e = epoch.get();
        if (e == null || e.number() != number) {
            e = new Epoch(number, shuffle(number));
            epoch.set(e);
        }
        return e.order()[(int) (index % windows)];
    }

    /** Fisher–Yates over the windows, from a generator seeded by the run's seed and the epoch. */
    private int[] shuffle(long number) {
        int[] order = new int[(int) windows];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        SplittableRandom random = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + number);
        for (int i = order.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    @Override
    public String describe() {
        return tokens.describe() + ": " + tokens.length() + " tokens packed into " + windows + " windows of "
                + (seqLength + 1) + ", shuffled with seed " + seed;
    }
}
