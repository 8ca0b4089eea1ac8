package io.easycontext.runtime.eval.ppl;

import io.easycontext.runtime.model.LlamaModel;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

class SlidingWindowsTest {

    private static final int BOS = 999;
    private static final int[] DOC = IntStream.range(0, 10).toArray();

    /** The tokens a window scores, as the ids they predict. */
    private static List<Integer> scored(Window w) {
        List<Integer> out = new ArrayList<>();
        for (int t : w.targets()) {
            if (t != LlamaModel.IGNORE_INDEX) {
                out.add(t);
            }
        }
        return out;
    }

    @Test
    void windowsSlideByTheStrideAndScoreOnlyNewTokens() {
        List<Window> ws = new SlidingWindows(5, 2, false, OptionalInt.of(BOS)).of(DOC);
        // Four tokens of text after BOS, starting every 2 tokens, until the end of the document.
        assertThat(ws).extracting(Window::ids).containsExactly(new int[] {BOS, 0, 1, 2, 3},
                new int[] {BOS, 2, 3, 4, 5}, new int[] {BOS, 4, 5, 6, 7}, new int[] {BOS, 6, 7, 8, 9});
        assertThat(scored(ws.get(0))).containsExactly(0, 1, 2, 3);
        assertThat(scored(ws.get(1))).containsExactly(4, 5);
        assertThat(scored(ws.get(2))).containsExactly(6, 7);
        assertThat(scored(ws.get(3))).containsExactly(8, 9);
        // Position i predicts ids[i + 1]; the last position predicts nothing.
        assertThat(ws.get(1).targets()).containsExactly(-100, -100, 4, 5, -100);
    }

    @Test
    void everyTokenIsScoredOnceWhateverTheStride() {
        for (int stride = 1; stride <= 12; stride++) {
            List<Integer> all = new ArrayList<>();
            new SlidingWindows(4, stride, false, OptionalInt.of(BOS)).of(DOC).forEach(w -> all.addAll(scored(w)));
            assertThat(all).as("stride %d", stride).containsExactly(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
        }
    }

    @Test
    void withoutBosTheFirstTokenHasNothingToBePredictedFrom() {
        List<Window> ws = new SlidingWindows(6, 6, false, OptionalInt.empty()).of(DOC);
        assertThat(ws).extracting(Window::ids).containsExactly(new int[] {0, 1, 2, 3, 4, 5},
                new int[] {6, 7, 8, 9});
        assertThat(scored(ws.get(0))).containsExactly(1, 2, 3, 4, 5);
        assertThat(scored(ws.get(1))).containsExactly(7, 8, 9);
    }

    @Test
    void truncateKeepsOneWindowPerDocument() {
        List<Window> ws = new SlidingWindows(5, 2, true, OptionalInt.of(BOS)).of(DOC);
        assertThat(ws).hasSize(1);
        assertThat(ws.get(0).ids()).containsExactly(BOS, 0, 1, 2, 3);
        assertThat(scored(ws.get(0))).containsExactly(0, 1, 2, 3);
        assertThat(new SlidingWindows(50, 2, true, OptionalInt.of(BOS)).of(DOC).get(0).ids()).hasSize(11);
    }
}
