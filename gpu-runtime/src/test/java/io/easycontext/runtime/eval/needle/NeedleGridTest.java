package io.easycontext.runtime.eval.needle;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class NeedleGridTest {

    @Test
    void lengthsStepFromMinToMaxInclusive() {
        assertThat(new NeedleGrid(1000, 4000, 1000, 0.1).lengths()).containsExactly(1000, 2000, 3000, 4000);
        assertThat(new NeedleGrid(1000, 3500, 1000, 0.1).lengths()).containsExactly(1000, 2000, 3000);
    }

    @Test
    void depthsRunFromZeroToOne() {
        assertThat(new NeedleGrid(1, 1, 1, 0.1).depths()).hasSize(11).first().isEqualTo(0.0);
        assertThat(new NeedleGrid(1, 1, 1, 0.1).depths().get(7)).isCloseTo(0.7, within(1e-12));
        assertThat(new NeedleGrid(1, 1, 1, 0.1).depths().get(10)).isEqualTo(1.0);
        assertThat(new NeedleGrid(1, 1, 1, 0.25).depths()).containsExactly(0.0, 0.25, 0.5, 0.75, 1.0);
        assertThat(new NeedleGrid(1, 1, 1, 0.3).depths()).hasSize(5).last().isEqualTo(1.0);
        assertThat(new NeedleGrid(1, 1, 1, 1).depths()).containsExactly(0.0, 1.0);
    }

    @Test
    void emptyGridsAreRefused() {
        assertThatThrownBy(() -> new NeedleGrid(2000, 1000, 100, 0.1)).hasMessageContaining("make no grid");
        assertThatThrownBy(() -> new NeedleGrid(1000, 2000, 100, 0)).hasMessageContaining("depth interval");
        assertThatThrownBy(() -> new NeedleGrid(1000, 2000, 100, 1.5)).hasMessageContaining("depth interval");
    }
}
