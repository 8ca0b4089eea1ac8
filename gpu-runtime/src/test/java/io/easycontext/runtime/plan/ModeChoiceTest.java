package io.easycontext.runtime.plan;

import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.parallel.ParallelConfig;
import io.easycontext.runtime.parallel.ParallelMode;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class ModeChoiceTest {
    private static final LlamaConfig LLAMA2_7B = LlamaConfig.preset("llama2-7b");
    /** Llama-3-8B's attention: 32 query heads, 8 key/value heads. */
    private static final LlamaConfig GQA = LlamaConfig.preset("llama3-8b");

    private static List<String> flags(List<ParallelConfig> layouts) {
        return layouts.stream().map(ModeChoice::flags).toList();
    }

    @Test
    void ulyssesFirstThenTheHybridThenTheRingsAndOnlyWhatTheModelAndLengthAllow() {
        assertThat(flags(ModeChoice.candidates(2, 131072, LLAMA2_7B))).containsExactly(
                "--parallel-mode ulysses_attn", "--parallel-mode zigzag_ring_attn", "--parallel-mode dist_flash_attn",
                "--parallel-mode ring_attn");
        assertThat(flags(ModeChoice.candidates(8, 131072, LLAMA2_7B))).containsExactly(
                "--parallel-mode ulysses_attn", "--parallel-mode usp_attn --ulysses-degree 4 --ring-degree 2",
                "--parallel-mode zigzag_ring_attn", "--parallel-mode dist_flash_attn", "--parallel-mode ring_attn");
        // Eight key/value heads over sixteen GPUs: Ulysses alone cannot split them; Ulysses 8 × a ring of 2 can.
        assertThat(flags(ModeChoice.candidates(16, 131072, GQA))).first()
                .isEqualTo("--parallel-mode usp_attn --ulysses-degree 8 --ring-degree 2");
        // 3 × 43,691 tokens: no zigzag (an odd length has no 2 × 3 chunks), no Ulysses over 3 of 32 heads.
        assertThat(flags(ModeChoice.candidates(3, 131073, LLAMA2_7B))).containsExactly(
                "--parallel-mode dist_flash_attn", "--parallel-mode ring_attn");
        assertThat(ModeChoice.candidates(1, 4096, LLAMA2_7B)).extracting(ParallelConfig::mode)
                .containsExactly(ParallelMode.DATA_PARALLEL);
    }

    /**
     * plan takes the first layout whose memory fits: Ulysses' head-sharded copies make it 0.25 GiB larger than the
     * zigzag ring at 128K over two GPUs (87.36 against 87.11 GiB under ZeRO-1), so a pool between them gets the ring.
     */
    @Test
    void planTakesTheFastestLayoutThatFits() {
        String[] common = {"plan", "--model", "llama2-7b", "--gpus", "2", "--seq-length", "131072", "--parallel-mode",
                "auto", "--zero-stage", "1", "--host-memory-gib", "240"};
        StringBuilder roomy = new StringBuilder();
        assertThat(MemoryPlannerTest.plan(roomy, with(common, "--gpu-memory-gib", "100"))).as(roomy.toString()).isZero();
        assertThat(roomy).contains("mode: --parallel-mode ulysses_attn").contains("ulysses_attn (world 2");
        StringBuilder tight = new StringBuilder();
        assertThat(MemoryPlannerTest.plan(tight, with(common, "--gpu-memory-gib", "87.2"))).as(tight.toString())
                .isZero();
        assertThat(tight).contains("mode: --parallel-mode zigzag_ring_attn");
        StringBuilder none = new StringBuilder();
        assertThat(MemoryPlannerTest.plan(none, with(common, "--gpu-memory-gib", "60"))).isEqualTo(3);
        assertThat(none).contains("mode: --parallel-mode ulysses_attn").contains("does not fit");
        StringBuilder both = new StringBuilder();
        assertThat(MemoryPlannerTest.plan(both, with(common, "--ulysses-degree", "2"))).isEqualTo(2);
        assertThat(both).contains("--parallel-mode auto chooses the Ulysses and ring degrees");
    }

    private static String[] with(String[] common, String... more) {
        String[] all = java.util.Arrays.copyOf(common, common.length + more.length);
        System.arraycopy(more, 0, all, common.length, more.length);
        return all;
    }
}
