package io.easycontext.runtime.parallel;

import io.easycontext.runtime.model.LlamaConfig;
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
}
