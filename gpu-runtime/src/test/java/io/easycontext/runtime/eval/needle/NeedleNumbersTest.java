package io.easycontext.runtime.eval.needle;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class NeedleNumbersTest {

    @Test
    void everyNumberHasExactlyTheAskedDigits() {
        for (int digits = 1; digits <= NeedleNumbers.MAX_DIGITS; digits++) {
            NeedleNumbers n = NeedleNumbers.draw(digits, digits, false, digits == 1 ? 5 : 50, 5);
            for (long x : n.needles()) {
                assertThat(Long.toString(x)).as("%d digits", digits).hasSize(digits);
            }
            for (long x : n.distractors()) {
                assertThat(Long.toString(x)).hasSize(digits);
            }
        }
    }

    @Test
    void numbersSpreadOverTheirRange() {
        long[] n = NeedleNumbers.draw(1, 2, false, 2000, 0).needles();
        assertThat(Arrays.stream(n).min().orElseThrow()).isEqualTo(10);
        assertThat(Arrays.stream(n).max().orElseThrow()).isEqualTo(99);
    }

    @Test
    void distractorsNeverEqualANeedle() {
        NeedleNumbers n = NeedleNumbers.draw(3, 1, false, 9, 30);
        Set<Long> needles = new HashSet<>();
        Arrays.stream(n.needles()).forEach(needles::add);
        assertThat(n.distractors()).hasSize(30);
        for (long d : n.distractors()) {
            assertThat(needles).doesNotContain(d);
        }
    }

    @Test
    void distinctDigitsNeverRepeatOne() {
        for (long x : NeedleNumbers.draw(5, 6, true, 300, 0).needles()) {
            String s = Long.toString(x);
            assertThat(s.chars().distinct().count()).as(s).isEqualTo(6);
        }
        for (long x : NeedleNumbers.draw(5, 10, true, 3, 0).needles()) {
            assertThat(Long.toString(x).chars().distinct().count()).isEqualTo(10);
        }
    }

    @Test
    void theSeedDecides() {
        assertThat(NeedleNumbers.draw(9, 7, false, 5, 2).needles())
                .isEqualTo(NeedleNumbers.draw(9, 7, false, 5, 2).needles())
                .isNotEqualTo(NeedleNumbers.draw(10, 7, false, 5, 2).needles());
    }

    @Test
    void impossibleRequestsAreRefused() {
        assertThatThrownBy(() -> NeedleNumbers.draw(1, 0, false, 1, 0)).hasMessageContaining("digits");
        assertThatThrownBy(() -> NeedleNumbers.draw(1, 19, false, 1, 0)).hasMessageContaining("18");
        assertThatThrownBy(() -> NeedleNumbers.draw(1, 11, true, 1, 0)).hasMessageContaining("10");
        assertThatThrownBy(() -> NeedleNumbers.draw(1, 1, false, 100, 1)).hasMessageContaining("distractor");
    }
}
