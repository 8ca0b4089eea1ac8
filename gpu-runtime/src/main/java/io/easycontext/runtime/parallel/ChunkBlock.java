package io.easycontext.runtime.parallel;

import io.easycontext.runtime.backend.AttentionMask;

import java.util.ArrayList;
import java.util.List;

/**
 * One call of the attention kernel in a ring step: the rank's query chunks {@code [q, q + qCount)} (positions in its
 * own list of chunks) against key chunks {@code [k, k + kCount)} of the set in hand, under {@code mask}. Adjacent
 * chunks are contiguous in {@code [b, t, h, d]}, so a run of them is one view, and one long call runs the kernel
 * nearer its peak than several short ones (a zigzag rank's step 0 is one causal call over its two chunks instead of
 * three, each later step one call instead of two).
 */
record ChunkBlock(int q, int qCount, int k, int kCount, AttentionMask mask) {

    /**
     * The blocks that cover {@code (queryChunks × keyChunks)}, by global chunk indices under {@link ChunkMask}, in
     * row order. With {@code merged} false, one per visible chunk pair. With {@code merged}, the fewest: the whole
     * square as one causal block where the chunks are the same and the causal mask over their concatenation is the
     * chunks' masks (a zigzag rank's own pair is: its second chunk sees all of its first); otherwise rectangles of
     * fully visible chunks, each row's run of them extended down over the rows with the same run, and each diagonal
     * chunk alone.
     */
    static List<ChunkBlock> cover(int[] queryChunks, int[] keyChunks, boolean merged) {
        int n = queryChunks.length;
        int m = keyChunks.length;
        List<ChunkBlock> blocks = new ArrayList<>();
        if (!merged) {
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < m; j++) {
                    AttentionMask mask = ChunkMask.of(queryChunks[i], keyChunks[j]);
                    if (mask != null) {
                        blocks.add(new ChunkBlock(i, 1, j, 1, mask));
                    }
                }
            }
            return blocks;
        }
        if (causalOverConcatenation(queryChunks, keyChunks)) {
            blocks.add(new ChunkBlock(0, n, 0, m, AttentionMask.CAUSAL_DIAGONAL));
            return blocks;
        }
        boolean[][] done = new boolean[n][m];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < m; j++) {
                AttentionMask mask = ChunkMask.of(queryChunks[i], keyChunks[j]);
                if (done[i][j] || mask == null) {
                    continue;
                }
                if (mask == AttentionMask.CAUSAL_DIAGONAL) {
                    blocks.add(new ChunkBlock(i, 1, j, 1, mask));
                    continue;
                }
                int end = runEnd(queryChunks[i], keyChunks, j);
                int rows = 1;
                while (i + rows < n && j == runStart(queryChunks[i + rows], keyChunks, j)
                        && runEnd(queryChunks[i + rows], keyChunks, j) == end) {
                    rows++;
                }
                for (int r = i; r < i + rows; r++) {
                    for (int c = j; c < end; c++) {
                        done[r][c] = true;
                    }
                }
                blocks.add(new ChunkBlock(i, rows, j, end - j, AttentionMask.FULL));
            }
        }
        return blocks;
    }

    private static boolean causalOverConcatenation(int[] queryChunks, int[] keyChunks) {
        if (queryChunks.length != keyChunks.length || queryChunks.length < 2) {
            return false;
        }
        for (int i = 0; i < queryChunks.length; i++) {
            for (int j = 0; j < keyChunks.length; j++) {
                AttentionMask expected = j < i ? AttentionMask.FULL : j == i ? AttentionMask.CAUSAL_DIAGONAL : null;
                if (ChunkMask.of(queryChunks[i], keyChunks[j]) != expected) {
                    return false;
                }
            }
        }
        return true;
    }

    /** One past the last key of the fully visible run from {@code j} for query chunk {@code query}. */
    private static int runEnd(int query, int[] keyChunks, int j) {
        int end = j;
        while (end < keyChunks.length && ChunkMask.of(query, keyChunks[end]) == AttentionMask.FULL) {
            end++;
        }
        return end;
    }

    /** Where the fully visible run that holds {@code j} starts for {@code query}, or −1 when {@code j} is not in one. */
    private static int runStart(int query, int[] keyChunks, int j) {
        if (ChunkMask.of(query, keyChunks[j]) != AttentionMask.FULL) {
            return -1;
        }
        int start = j;
        while (start > 0 && ChunkMask.of(query, keyChunks[start - 1]) == AttentionMask.FULL) {
            start--;
        }
        return start;
    }
}
