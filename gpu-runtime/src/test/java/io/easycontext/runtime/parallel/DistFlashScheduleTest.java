package io.easycontext.runtime.parallel;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

class DistFlashScheduleTest {

    /**
     * Every off-diagonal causal block exactly once (each half of its query rows once where a step splits), at most
     * one block per rank and step, transfers that pair up.
     */
    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7, 8, 9, 16})
    void coversEveryBlockOnceInHalfTheRingSteps(int w) {
        for (boolean halves : new boolean[] {true, false}) {
            // Query-row halves of each block: [owner][key chunk][half].
            int[][][] computed = new int[w][w][2];
            for (int t = 1; t <= DistFlashSchedule.steps(w); t++) {
                for (int r = 0; r < w; r++) {
                    DistFlashSchedule s = DistFlashSchedule.of(r, w, t, halves);
                    assertThat(s.split()).isEqualTo(halves && 2 * t == w);
                    int blocks = 0;
                    if (s.kvFrom() >= 0) {
                        computed[r][s.kvFrom()][0]++;
                        if (!s.split()) {
                            computed[r][s.kvFrom()][1]++;
                        }
                        assertThat(DistFlashSchedule.of(s.kvFrom(), w, t, halves).kvTo()).isEqualTo(r);
                        blocks++;
                    }
                    if (s.qFrom() >= 0) {
                        computed[s.qFrom()][r][1]++;
                        if (!s.split()) {
                            computed[s.qFrom()][r][0]++;
                        }
                        assertThat(DistFlashSchedule.of(s.qFrom(), w, t, halves).qTo()).isEqualTo(r);
                        blocks++;
                    }
                    if (s.kvTo() >= 0) {
                        assertThat(DistFlashSchedule.of(s.kvTo(), w, t, halves).kvFrom()).isEqualTo(r);
                    }
                    if (s.qTo() >= 0) {
                        assertThat(DistFlashSchedule.of(s.qTo(), w, t, halves).qFrom()).isEqualTo(r);
                    }
                    if (s.split()) {
                        // The helper is the key/value owner: one pair exchanges both ways.
                        assertThat(s.qTo()).isEqualTo(s.kvFrom());
                        assertThat(s.qFrom()).isEqualTo(s.kvTo());
                    }
                    assertThat(blocks).as("rank %d step %d of %d", r, t, w).isLessThanOrEqualTo(1);
                }
            }
            for (int o = 0; o < w; o++) {
                for (int j = 0; j < w; j++) {
                    for (int half = 0; half < 2; half++) {
                        assertThat(computed[o][j][half]).as("block q%d·k%d half %d of %d", o, j, half, w)
                                .isEqualTo(j < o ? 1 : 0);
                    }
                }
            }
        }
        assertThat(DistFlashSchedule.steps(w)).isEqualTo(w / 2);
    }

    /**
     * Every rank computes the same query rows at every step: a whole block, or half of one at an even world's last
     * step, so no rank idles; unless chunks do not split in two, when half the ranks wait at that step.
     */
    @ParameterizedTest
    @ValueSource(ints = {2, 3, 4, 5, 6, 7, 8, 9, 16})
    void everyRankComputesTheSameRowsAtEveryStep(int w) {
        for (int t = 1; t <= DistFlashSchedule.steps(w); t++) {
            boolean last = 2 * t == w;
            for (int r = 0; r < w; r++) {
                assertThat(halfBlocks(DistFlashSchedule.of(r, w, t, true))).as("rank %d step %d of %d", r, t, w)
                        .isEqualTo(last ? 1 : 2);
                assertThat(halfBlocks(DistFlashSchedule.of(r, w, t, false)))
                        .as("unsplit: rank %d step %d of %d", r, t, w).isEqualTo(last && r < w / 2 ? 0 : 2);
            }
        }
    }

    /** The rows a rank computes at one step, in halves of a chunk. */
    private static int halfBlocks(DistFlashSchedule s) {
        int rows = s.split() ? 1 : 2;
        return (s.kvFrom() >= 0 ? rows : 0) + (s.qFrom() >= 0 ? rows : 0);
    }
}
