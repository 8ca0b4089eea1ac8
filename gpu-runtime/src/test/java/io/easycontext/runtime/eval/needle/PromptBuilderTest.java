package io.easycontext.runtime.eval.needle;

import io.easycontext.runtime.eval.text.Haystack;
import io.easycontext.runtime.tokenizer.ByteTokenizer;
import io.easycontext.runtime.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

class PromptBuilderTest {

    private static final Tokenizer BYTES = ByteTokenizer.INSTANCE;
    private static final NeedleTemplate T = NeedleTemplate.MAGIC_NUMBER;
    private static final long N = 4_718_093;

    private static PromptBuilder builder(String haystackText) throws IOException {
        Path dir = Files.createTempDirectory("haystack");
        Files.writeString(dir.resolve("a.txt"), haystackText);
        return new PromptBuilder(BYTES, T, Haystack.fromDirectory(dir, BYTES, 10_000));
    }

    private static String text(int[] ids, int from, int to) {
        return BYTES.decode(Arrays.copyOfRange(ids, from, to));
    }

    private static int headLength() {
        return BYTES.encodeWithSpecialTokens(T.prefix()).length;
    }

    @Test
    void promptIsPrefixHaystackWithNeedleQuestionAndAnswer() throws IOException {
        PromptBuilder b = builder("Aaaa aaa. Bbb bbbb. Cc ccc. ");
        NeedlePrompt p = b.build(100, 0.5, N, new long[0], new SplittableRandom(1));
        String needle = T.needle("Singapore", N);
        int[] ids = p.ids();
        assertThat(ids[0]).isEqualTo(ByteTokenizer.BOS);
        assertThat(text(ids, 1, headLength())).isEqualTo(T.prefix());
        assertThat(ids).hasSize(headLength() + 100 + needle.length() + T.question().length() + " 4718093".length());
        assertThat(text(ids, p.answerStart(), ids.length)).isEqualTo(" 4718093");
        assertThat(text(ids, p.answerStart() - T.question().length(), p.answerStart())).isEqualTo(T.question())
                .endsWith("Singapore number is:");
        assertThat(text(ids, p.needleStart(), p.needleStart() + needle.length())).isEqualTo(needle);
        assertThat(p.scoredPositions()).containsExactly(p.answerStart() - 1, p.answerStart(), p.answerStart() + 1,
                p.answerStart() + 2, p.answerStart() + 3, p.answerStart() + 4, p.answerStart() + 5,
                p.answerStart() + 6);
        assertThat(p.expectedAfter(p.answerStart() - 1)).isEqualTo(' ');
        assertThat(p.expectedAfter(p.answerStart())).isEqualTo('4');
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.1, 0.25, 0.5, 0.77, 0.9})
    void needleGoesAfterTheFirstFullStopAtOrPastTheDepth(double depth) throws IOException {
        String hay = "Aaaa aaa aaa. Bbb bbbb bbb bb. Cc ccc c. Dddd dd ddddd dd. ";
        PromptBuilder b = builder(hay);
        int length = 200;
        NeedlePrompt p = b.build(length, depth, N, new long[0], new SplittableRandom(1));
        int at = p.needleStart() - headLength();
        String haystack = hay.repeat(10).substring(0, length);
        int depthPoint = (int) (length * depth);
        int firstStop = haystack.indexOf('.', depthPoint);
        assertThat(at).isEqualTo(firstStop + 1);
        assertThat(p.ids()[p.needleStart() - 1]).isEqualTo('.');
        assertThat(text(p.ids(), headLength(), p.needleStart())).isEqualTo(haystack.substring(0, at));
    }

    @Test
    void depthZeroOpensTheHaystackAndDepthOneClosesIt() throws IOException {
        PromptBuilder b = builder("One two three. Four five six. ");
        NeedlePrompt first = b.build(57, 0, N, new long[0], new SplittableRandom(1));
        NeedlePrompt last = b.build(57, 1, N, new long[0], new SplittableRandom(1));
        assertThat(first.needleStart()).isEqualTo(headLength());
        assertThat(last.needleStart()).isEqualTo(headLength() + 57);
    }

    @Test
    void withoutAFullStopPastTheDepthTheNeedleGoesAtTheDepthPoint() throws IOException {
        PromptBuilder b = builder("no full stop in this text at all ");
        NeedlePrompt p = b.build(80, 0.5, N, new long[0], new SplittableRandom(1));
        assertThat(p.needleStart() - headLength()).isEqualTo(40);
    }

    @Test
    void distractorsGoInWholeAfterFullStopsWithOtherCitiesAndLeaveTheNeedleIntact() throws IOException {
        PromptBuilder b = builder("The cat sat. The dog ran. A bird sang. ");
        long[] distractors = {1_111_111, 2_222_222, 3_333_333};
        NeedlePrompt p = b.build(300, 0.5, N, distractors, new SplittableRandom(7));
        String all = BYTES.decode(p.ids());
        String needle = T.needle("Singapore", N);
        assertThat(text(p.ids(), p.needleStart(), p.needleStart() + needle.length())).isEqualTo(needle);
        for (int i = 0; i < distractors.length; i++) {
            String d = T.needle(T.distractorCity(i), distractors[i]);
            int at = all.indexOf(d);
            assertThat(at).as("distractor %d", i).isPositive();
            assertThat(all.charAt(at - 1)).as("after a full stop").isEqualTo('.');
        }
        assertThat(T.distractorCity(0)).isNotEqualTo("Singapore");
        int hidden = needle.length();
        for (int i = 0; i < distractors.length; i++) {
            hidden += T.needle(T.distractorCity(i), distractors[i]).length();
        }
        assertThat(p.ids()).hasSize(headLength() + 300 + hidden + T.question().length() + " 4718093".length());
    }

    @Test
    void theSameSeedBuildsTheSamePrompt() throws IOException {
        PromptBuilder b = builder("The cat sat. The dog ran. ");
        long[] d = {5_555_555, 6_666_666};
        assertThat(b.build(120, 0.3, N, d, new SplittableRandom(3)).ids())
                .isEqualTo(b.build(120, 0.3, N, d, new SplittableRandom(3)).ids());
    }

    @Test
    void haystackDirectoryIsReadInNameOrderAndRepeated(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("b.txt"), "second. ");
        Files.writeString(dir.resolve("a.txt"), "first. ");
        Files.writeString(dir.resolve("skip.md"), "not text");
        Haystack h = Haystack.fromDirectory(dir, BYTES, 40);
        assertThat(h.length()).isGreaterThanOrEqualTo(40);
        assertThat(BYTES.decode(h.prefix(30))).isEqualTo("first. second. first. second. ");
    }
}
