package io.easycontext.runtime.parallel;

import io.easycontext.runtime.backend.AttentionMask;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class RingScheduleTest {

    /** Two zigzag ranks: one causal call over a rank's own pair, then one full call a step. */
    @Test
    void zigzagOverTwoRanksIsOneCallAStep() {
        TokenLayout layout = new TokenLayout(16, 2, 1, true);
        RingSchedule first = RingSchedule.of(layout, 0, 2, true);
        RingSchedule second = RingSchedule.of(layout, 1, 2, true);
        assertThat(first.step(0)).containsExactly(new ChunkBlock(0, 2, 0, 2, AttentionMask.CAUSAL_DIAGONAL));
        // Rank 0 holds chunks 0 and 3; rank 1's are 1 and 2: only chunk 3 sees them, wholly.
        assertThat(first.step(1)).containsExactly(new ChunkBlock(1, 1, 0, 2, AttentionMask.FULL));
        // Rank 1's two chunks both see chunk 0, and neither sees chunk 3.
        assertThat(second.step(1)).containsExactly(new ChunkBlock(0, 2, 0, 1, AttentionMask.FULL));
        assertThat(first.direct()).isTrue();
        assertThat(first.queryChunks()).isEqualTo(2);
        assertThat(first.bufferedQueryChunks()).isEqualTo(1);
        assertThat(first.bufferedKeyChunks()).isEqualTo(2);
        assertThat(second.bufferedQueryChunks()).isEqualTo(2);
        assertThat(second.bufferedKeyChunks()).isEqualTo(1);
    }

    /** The default is a call per chunk pair: a zigzag rank's step 0 is three, its own pair not merged. */
    @Test
    void pairsByDefaultAndOnlyPairsOrMergedAccepted() {
        TokenLayout layout = new TokenLayout(16, 2, 1, true);
        assertThat(RingSchedule.of(layout, 0, 2).step(0)).hasSize(3);
        assertThat(RingSchedule.of(layout, 0, 2).direct()).isFalse();
        RingBlocks.with("fused", () -> org.assertj.core.api.Assertions.assertThatThrownBy(
                () -> RingSchedule.of(layout, 0, 2))
                .hasMessageContaining("easycontext.ring.blocks must be pairs or merged, not fused"));
    }

    /** Contiguous chunks: the diagonal block at step 0, then a full block from every rank to the left, none after. */
    @Test
    void contiguousRingComputesOnlyWhatLiesInThePast() {
        TokenLayout layout = new TokenLayout(12, 3, 1, false);
        RingSchedule last = RingSchedule.of(layout, 2, 3, true);
        RingSchedule first = RingSchedule.of(layout, 0, 3, true);
        assertThat(last.step(0)).containsExactly(new ChunkBlock(0, 1, 0, 1, AttentionMask.CAUSAL_DIAGONAL));
        assertThat(last.step(1)).containsExactly(new ChunkBlock(0, 1, 0, 1, AttentionMask.FULL));
        assertThat(last.step(2)).containsExactly(new ChunkBlock(0, 1, 0, 1, AttentionMask.FULL));
        assertThat(first.step(1)).isEmpty();
        assertThat(first.step(2)).isEmpty();
        assertThat(first.bufferedQueryChunks()).isZero();
    }

    /**
     * Every layout: the blocks of each step cover exactly the visible chunk pairs, once each, each block's pairs
     * all under its mask (a causal block being the concatenation's causal mask), and a zigzag step is one call.
     */
    @ParameterizedTest
    @CsvSource({"1,false,true", "2,false,true", "5,false,true", "1,true,true", "2,true,true", "3,true,true",
            "4,true,true", "8,true,true", "3,false,false", "4,true,false"})
    void blocksCoverEveryVisiblePairOnceUnderItsMask(int ranks, boolean zigzag, boolean merged) {
        TokenLayout layout = new TokenLayout(2 * ranks * 4, ranks, 1, zigzag);
        for (int r = 0; r < ranks; r++) {
            int[] mine = layout.ringChunks(r);
            RingSchedule plan = RingSchedule.of(layout, r, ranks, merged);
            for (int s = 0; s < ranks; s++) {
                int[] theirs = layout.ringChunks(Math.floorMod(r - s, ranks));
                int[][] covered = new int[mine.length][theirs.length];
                List<ChunkBlock> blocks = plan.step(s);
                for (ChunkBlock b : blocks) {
                    for (int i = b.q(); i < b.q() + b.qCount(); i++) {
                        for (int j = b.k(); j < b.k() + b.kCount(); j++) {
                            AttentionMask expected = b.mask() == AttentionMask.FULL ? AttentionMask.FULL
                                    : i - b.q() > j - b.k() ? AttentionMask.FULL
                                    : i - b.q() == j - b.k() ? AttentionMask.CAUSAL_DIAGONAL : null;
                            assertThat(ChunkMask.of(mine[i], theirs[j])).as("rank %d step %d (%d, %d)", r, s, i, j)
                                    .isEqualTo(expected);
                            // A causal block's pairs above its diagonal are masked: not computed there.
                            covered[i][j] += expected == null ? 0 : 1;
                        }
                    }
                }
                for (int i = 0; i < mine.length; i++) {
                    for (int j = 0; j < theirs.length; j++) {
                        assertThat(covered[i][j]).as("rank %d step %d (%d, %d) covered", r, s, i, j)
                                .isEqualTo(ChunkMask.of(mine[i], theirs[j]) == null ? 0 : 1);
                    }
                }
                if (zigzag && merged) {
                    assertThat(blocks).as("rank %d step %d", r, s).hasSize(1);
                }
                if (!merged) {
                    assertThat(blocks).allMatch(b -> b.qCount() == 1 && b.kCount() == 1);
                }
            }
        }
    }
}
