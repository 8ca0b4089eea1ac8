package io.easycontext.runtime.parallel;

/**
 * Which global token positions each rank of a sequence-parallel group holds, in its local order; the equivalent of
 * EasyContext's {@code prepare_*_inputs}. The sequence is cut into chunks across the ring (contiguous: one chunk
 * per ring rank; zigzag: {@code 2R} chunks, ring rank {@code ρ} holding chunks {@code ρ} and {@code 2R−1−ρ}
 * concatenated), and each ring rank's tokens are cut into {@code U} contiguous pieces across its Ulysses group.
 * Input ids, position ids (the <em>global</em> positions, which rope needs) and targets are sharded identically.
 *
 * <pre>
 *   zigzag, R = 2, U = 1, 8 tokens:   chunks  c0 c1 c2 c3
 *                                     rank 0: c0 c3     rank 1: c1 c2
 *   usp, R = 2, U = 2:                ring rank 0 holds c0 c3, split between Ulysses ranks as [c0] [c3]
 * </pre>
 */
public final class TokenLayout {
    private final int seqLength;
    private final int ringDegree;
    private final int ulyssesDegree;
    private final boolean zigzag;

    public TokenLayout(int seqLength, int ringDegree, int ulyssesDegree, boolean zigzag) {
        int chunks = zigzag ? 2 * ringDegree : ringDegree;
        if (seqLength % chunks != 0 || (seqLength / ringDegree) % ulyssesDegree != 0) {
            throw new ParallelConfigException("a sequence of " + seqLength + " tokens does not split into "
                    + chunks + " chunks and " + ulyssesDegree + " Ulysses pieces per ring rank");
        }
        this.seqLength = seqLength;
        this.ringDegree = ringDegree;
        this.ulyssesDegree = ulyssesDegree;
        this.zigzag = zigzag;
    }

    public static TokenLayout of(ParallelConfig config, int seqLength) {
        return new TokenLayout(seqLength, config.ringDegree(), config.ulyssesDegree(), config.zigzag());
    }

    public int seqLength() {
        return seqLength;
    }

    /** Chunks the sequence is cut into across the ring. */
    public int chunkCount() {
        return zigzag ? 2 * ringDegree : ringDegree;
    }

    public int chunkLength() {
        return seqLength / chunkCount();
    }

    /** The global chunk indices ring rank {@code ringRank} holds, in local order (ascending). */
    public int[] ringChunks(int ringRank) {
        return zigzag ? new int[] {ringRank, 2 * ringDegree - 1 - ringRank} : new int[] {ringRank};
    }

    /** Tokens one rank holds. */
    public int localLength() {
        return seqLength / (ringDegree * ulyssesDegree);
    }

    /** The global positions of the tokens the rank holds, in local order. */
    public int[] positions(int ringRank, int ulyssesRank) {
        int[] ringTokens = new int[seqLength / ringDegree];
        int at = 0;
        for (int chunk : ringChunks(ringRank)) {
            for (int i = 0; i < chunkLength(); i++) {
                ringTokens[at++] = chunk * chunkLength() + i;
            }
        }
        int n = localLength();
        int[] local = new int[n];
        System.arraycopy(ringTokens, ulyssesRank * n, local, 0, n);
        return local;
    }

    /** A rank's shard of {@code [batch, seqLength]} values (ids, positions or targets): {@code [batch, localLength]}. */
    public int[] shard(int[] global, int batch, int ringRank, int ulyssesRank) {
        if (global.length != batch * seqLength) {
            throw new IllegalArgumentException(global.length + " values are not a batch of " + batch + " × "
                    + seqLength + " tokens");
        }
        int[] positions = positions(ringRank, ulyssesRank);
        int n = positions.length;
        int[] local = new int[batch * n];
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < n; i++) {
                local[b * n + i] = global[b * seqLength + positions[i]];
            }
        }
        return local;
    }

    /** Global position ids {@code 0 … seqLength−1} for every sequence of a batch, sharded like the ids. */
    public int[] positionIds(int batch, int ringRank, int ulyssesRank) {
        int[] positions = positions(ringRank, ulyssesRank);
        int[] ids = new int[batch * positions.length];
        for (int b = 0; b < batch; b++) {
            System.arraycopy(positions, 0, ids, b * positions.length, positions.length);
        }
        return ids;
    }
}
