package io.easycontext.runtime.plan;

import io.easycontext.runtime.cli.Main;
import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.parallel.ParallelMode;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class MemoryPlannerTest {
    private static final double GIB = 1L << 30;
    private static final LlamaConfig LLAMA2_7B = LlamaConfig.preset("llama2-7b");

    @Test
    void predictsTheMeasuredSingleGpuPeaksWithinTwoPercent() {
        // Measured by the pool on an H200 (benchmarks.md, 2026-11-28): `bench --what train`, before the MLP was
        // recomputed in chunks, which is one chunk of all tokens.
        double at32k = MemoryPlanner.estimate(LLAMA2_7B.withLayers(8), 32768, ParallelMode.DATA_PARALLEL, 1, 1024, 32768)
                .total() / GIB;
        double at128k = MemoryPlanner.estimate(LLAMA2_7B.withLayers(4), 131072, ParallelMode.DATA_PARALLEL, 1, 1024, 131072)
                .total() / GIB;
        assertThat(at32k).isCloseTo(36.6, within(36.6 * 0.02));
        assertThat(at128k).isCloseTo(46.1, within(46.1 * 0.02));
    }

    @Test
    void componentsScaleAsTheirCauses() {
        MemoryEstimate a = MemoryPlanner.estimate(LLAMA2_7B, 8192, ParallelMode.ZIGZAG_RING_ATTN, 1, 1024, 8192);
        MemoryEstimate b = MemoryPlanner.estimate(LLAMA2_7B, 16384, ParallelMode.ZIGZAG_RING_ATTN, 1, 1024, 16384);
        long params = LLAMA2_7B.parameterCount();
        assertThat(a.parameters()).isEqualTo(2 * params);
        assertThat(a.masterWeights()).isEqualTo(4 * params);
        assertThat(a.optimizerMoments()).isEqualTo(8 * params);
        assertThat(b.checkpoints()).isEqualTo(2 * a.checkpoints());
        assertThat(b.layerWorkingSet()).isEqualTo(2 * a.layerWorkingSet());
        assertThat(b.communication()).isEqualTo(2 * a.communication());
        assertThat(MemoryPlanner.estimate(LLAMA2_7B, 8192, ParallelMode.DATA_PARALLEL, 1, 1024, 4096).communication()).isZero();
        // Chunking the MLP recompute takes the [tokens, ffn] tensors out: at 128K tokens and a 4K chunk the
        // attention backward sets the peak: recomputed n1, q, k, v, out, h, n2 (7 × 4096 bf16), then dNormed,
        // dBranch, dAttnOut, dq, dk, dv (6 × 4096 bf16) and the fp32 dQ accumulator (4096 × 4 bytes) per token.
        MemoryEstimate whole = MemoryPlanner.estimate(LLAMA2_7B, 131072, ParallelMode.DATA_PARALLEL, 1, 1024, 131072);
        MemoryEstimate chunked = MemoryPlanner.estimate(LLAMA2_7B, 131072, ParallelMode.DATA_PARALLEL, 1, 1024, 4096);
        assertThat(chunked.layerWorkingSet()).isEqualTo(131072L * (7 * 4096 * 2 + 6 * 4096 * 2 + 4096 * 4));
        assertThat(whole.layerWorkingSet()).isEqualTo(131072L * (7 * 4096 + 3 * 11008 + 2 * 4096 + 3 * 11008) * 2);
        assertThat(a.total()).isEqualTo(a.components().values().stream().mapToLong(Long::longValue).sum());
    }

    private static int plan(StringBuilder text, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(out, true, StandardCharsets.UTF_8));
        text.append(out.toString(StandardCharsets.UTF_8));
        return code;
    }

    @Test
    void theCliSaysWhetherARunFitsWithTheNumbers() {
        StringBuilder fits = new StringBuilder();
        assertThat(plan(fits, "plan", "--model", "tiny", "--seq-length", "4096", "--gpu-memory-gib", "80")).isZero();
        assertThat(fits).contains("activation checkpoints").contains("fits: ");

        StringBuilder tooBig = new StringBuilder();
        assertThat(plan(tooBig, "plan", "--model", "llama2-7b", "--seq-length", "262144", "--gpu-memory-gib", "80")).isEqualTo(3);
        assertThat(tooBig).containsPattern("does not fit: needs [0-9.]+ GiB per rank, 80.00 GiB available");

        StringBuilder bad = new StringBuilder();
        assertThat(plan(bad, "plan", "--model", "tiny", "--gpus", "4", "--seq-length", "100")).isEqualTo(2);
        assertThat(bad).contains("zigzag_ring_attn needs seq_length divisible by 2 × ring size (2×4=8): 100 is not");
    }
}
