package io.easycontext.runtime.parallel;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

class TokenLayoutTest {

    @Test
    void contiguousShards() {
        TokenLayout ring = new TokenLayout(8, 4, 1, false);
        assertThat(ring.positions(2, 0)).containsExactly(4, 5);
        assertThat(ring.ringChunks(2)).containsExactly(2);
    }

    @Test
    void zigzagHoldsChunksRAnd2WMinus1MinusR() {
        TokenLayout zigzag = new TokenLayout(16, 4, 1, true);
        assertThat(zigzag.ringChunks(0)).containsExactly(0, 7);
        assertThat(zigzag.ringChunks(3)).containsExactly(3, 4);
        assertThat(zigzag.positions(1, 0)).containsExactly(2, 3, 12, 13);
    }

    /** usp_attn: zigzag across the ring, then contiguous pieces across the Ulysses group, as yunchang extracts. */
    @Test
    void uspSplitsTheZigzagShardAcrossUlyssesRanks() {
        TokenLayout usp = new TokenLayout(16, 2, 2, true);
        assertThat(usp.positions(0, 0)).containsExactly(0, 1, 2, 3);
        assertThat(usp.positions(0, 1)).containsExactly(12, 13, 14, 15);
        assertThat(usp.positions(1, 0)).containsExactly(4, 5, 6, 7);
        assertThat(usp.positions(1, 1)).containsExactly(8, 9, 10, 11);
    }

    @Test
    void everyTokenIsHeldExactlyOnce() {
        int[][] shapes = {{24, 3, 1, 1}, {24, 2, 3, 1}, {24, 6, 1, 0}, {24, 1, 4, 0}, {24, 1, 1, 1}};
        for (int[] s : shapes) {
            TokenLayout layout = new TokenLayout(s[0], s[1], s[2], s[3] == 1);
            int[] held = IntStream.range(0, s[1] * s[2])
                    .flatMap(rank -> IntStream.of(layout.positions(rank / s[2], rank % s[2])))
                    .sorted().toArray();
            assertThat(held).as(Arrays.toString(s)).containsExactly(IntStream.range(0, s[0]).toArray());
        }
    }

    @Test
    void shardTakesTheSamePositionsFromEverySequence() {
        TokenLayout zigzag = new TokenLayout(4, 2, 1, true);
        int[] ids = {10, 11, 12, 13, 20, 21, 22, 23};
        assertThat(zigzag.shard(ids, 2, 1, 0)).containsExactly(11, 12, 21, 22);
        assertThat(zigzag.positionIds(2, 1, 0)).containsExactly(1, 2, 1, 2);
        assertThat(zigzag.shard(ids, 2, 0, 0)).containsExactly(10, 13, 20, 23);
    }
}
