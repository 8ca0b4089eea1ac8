package io.easycontext.runtime.eval.passkey;

import io.easycontext.runtime.model.LlamaModel;
import io.easycontext.runtime.train.DataSource;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class PasskeyDataTest {

    private static final int SEQ = 400;

    /** The last position that carries a loss: the answer's end, where the prompt ends. */
    private static int lastScored(DataSource.Sample s) {
        int last = -1;
        for (int i = 0; i < s.targets().length; i++) {
            if (s.targets()[i] != LlamaModel.IGNORE_INDEX) {
                last = i;
            }
        }
        return last;
    }

    @Test
    void halfTheSequencesAreShorterPromptsPaddedAfterTheAnswer() {
        PasskeyData data = PasskeyRecipes.cpu(3).data();
        List<Integer> answerEnds = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            DataSource.Sample s = data.sample(i, SEQ);
            assertThat(s.inputIds()).hasSize(SEQ);
            int end = lastScored(s);
            assertThat(end).as("sample %d has an answer", i).isGreaterThan(0);
            answerEnds.add(end);
            assertThat(data.sample(i, SEQ).inputIds()).as("sample %d is the same again", i).isEqualTo(s.inputIds());
        }
        long full = answerEnds.stream().filter(e -> e >= SEQ - 2).count();
        long shortest = answerEnds.stream().mapToInt(Integer::intValue).min().orElseThrow();
        assertThat(full).as("full-length prompts").isBetween(70L, 130L);
        assertThat(shortest).as("the shortest prompt's answer")
                .isLessThan(SEQ / 3).isGreaterThan((SEQ - data.overhead()) / 8);
        // Spread over the range, so that no absolute position of the question is learnt.
        assertThat(answerEnds.stream().filter(e -> e < SEQ / 2).count()).isGreaterThan(15);
    }
}
