package io.easycontext.runtime.parallel;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

class DistFlashScheduleTest {

    /** Every off-diagonal causal block exactly once, at most one block per rank and step, transfers that pair up. */
    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7, 8, 9, 16})
    void coversEveryBlockOnceInHalfTheRingSteps(int w) {
        int[][] computed = new int[w][w];
        for (int t = 1; t <= DistFlashSchedule.steps(w); t++) {
            for (int r = 0; r < w; r++) {
                DistFlashSchedule s = DistFlashSchedule.of(r, w, t);
                int blocks = 0;
                if (s.kvFrom() >= 0) {
                    computed[r][s.kvFrom()]++;
                    assertThat(DistFlashSchedule.of(s.kvFrom(), w, t).kvTo()).isEqualTo(r);
                    blocks++;
                }
                if (s.qFrom() >= 0) {
                    computed[s.qFrom()][r]++;
                    assertThat(DistFlashSchedule.of(s.qFrom(), w, t).qTo()).isEqualTo(r);
                    blocks++;
                }
                if (s.kvTo() >= 0) {
                    assertThat(DistFlashSchedule.of(s.kvTo(), w, t).kvFrom()).isEqualTo(r);
                }
                if (s.qTo() >= 0) {
                    assertThat(DistFlashSchedule.of(s.qTo(), w, t).qFrom()).isEqualTo(r);
                }
                assertThat(blocks).as("rank %d step %d of %d", r, t, w).isLessThanOrEqualTo(1);
            }
        }
        for (int o = 0; o < w; o++) {
            for (int j = 0; j < w; j++) {
                assertThat(computed[o][j]).as("block q%d·k%d of %d", o, j, w).isEqualTo(j < o ? 1 : 0);
            }
        }
        assertThat(DistFlashSchedule.steps(w)).isEqualTo(w / 2);
    }
}
