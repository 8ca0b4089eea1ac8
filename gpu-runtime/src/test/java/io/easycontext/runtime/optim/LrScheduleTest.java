package io.easycontext.runtime.optim;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class LrScheduleTest {

    @Test
    void warmupRisesLinearlyFromTheFirstStep() {
        LrSchedule s = LrSchedule.warmupCosine(1e-3, 10, 110, 0.1);
        assertThat(s.at(1)).isCloseTo(1e-4, within(1e-15));
        assertThat(s.at(5)).isCloseTo(5e-4, within(1e-15));
        assertThat(s.at(10)).isEqualTo(1e-3);
    }

    @Test
    void cosineDecayFollowsTheClosedFormToTheFloorAndStays() {
        LrSchedule s = LrSchedule.warmupCosine(1e-3, 10, 110, 0.1);
        assertThat(s.at(60)).as("half way: the mean of peak and floor").isCloseTo(0.55e-3, within(1e-15));
        assertThat(s.at(35)).isCloseTo(1e-4 + 0.9e-3 * 0.5 * (1 + Math.cos(Math.PI / 4)), within(1e-15));
        assertThat(s.at(110)).isCloseTo(1e-4, within(1e-15));
        assertThat(s.at(500)).isCloseTo(1e-4, within(1e-15));
    }

    @Test
    void linearDecayFollowsTheClosedForm() {
        LrSchedule s = LrSchedule.warmupLinear(2e-5, 0, 100, 0);
        assertThat(s.at(1)).isCloseTo(2e-5 * 0.99, within(1e-18));
        assertThat(s.at(25)).isCloseTo(1.5e-5, within(1e-18));
        assertThat(s.at(100)).isZero();
    }

    @Test
    void constantSchedulesHoldThePeak() {
        assertThat(LrSchedule.constant(3e-4).at(1)).isEqualTo(3e-4);
        assertThat(LrSchedule.constant(3e-4).at(1_000_000)).isEqualTo(3e-4);
        LrSchedule warm = LrSchedule.warmupConstant(3e-4, 4);
        assertThat(warm.at(2)).isCloseTo(1.5e-4, within(1e-18));
        assertThat(warm.at(9)).isEqualTo(3e-4);
    }

    @Test
    void rejectsImpossibleSchedules() {
        assertThatThrownBy(() -> LrSchedule.warmupCosine(1e-3, 10, 10, 0)).hasMessageContaining("total steps");
        assertThatThrownBy(() -> LrSchedule.warmupCosine(1e-3, 1, 10, 2)).hasMessageContaining("min ratio");
        assertThatThrownBy(() -> LrSchedule.constant(1).at(0)).hasMessageContaining("count from 1");
    }
}
