package io.easycontext.runtime.train;

import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.model.ModelFlops;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

import java.util.OptionalDouble;

import static org.assertj.core.api.Assertions.assertThat;

class StepMetricsTest {

    @Test
    void aStepLineCarriesPeakMemoryAndMfuOnlyWhereKnown() {
        StepMetrics cpu = new StepMetrics(3, 2.5, 0.75, 1e-4, 4096, 1234.5);
        assertThat(cpu.toJson()).isEqualTo(
                "{\"step\":3,\"loss\":2.5,\"grad_norm\":0.75,\"lr\":1.0E-4,\"tokens\":4096,\"tokens_per_s\":1234.5}");
        StepMetrics gpu = new StepMetrics(3, 2.5, 0.75, 1e-4, 4096, 1234.5, 3L << 30);
        assertThat(gpu.toJson(OptionalDouble.of(0.301249))).endsWith(",\"peak_device_gib\":3.0,\"mfu\":0.3012}");
    }

    /** Llama-2-7B at 128K on four H200s at 8,115 tokens/s (benchmarks.md): 6·(N − V·h) + 6·L·q·s a token. */
    @Test
    void utilisationIsModelFlopsOverThePeakOfEveryGpu() {
        LlamaConfig llama = LlamaConfig.preset("llama2-7b");
        double perToken = 6.0 * (llama.parameterCount() - 32000L * 4096) + 6.0 * 32 * 4096 * 131072;
        assertThat(ModelFlops.perToken(llama, 131072)).isEqualTo(perToken);
        assertThat(ModelFlops.utilisation(llama, 131072, 8115, 4, 989.4e12))
                .isCloseTo(8115 * perToken / (4 * 989.4e12), Offset.offset(1e-12));
    }
}
