package io.easycontext.runtime.profile;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.backend.cpu.CpuBackend;
import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.model.LlamaModel;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.model.TinyModels;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

class OpProfileTest {

    /** Span {@code i} takes {@code i + 1} ms: sums that a test can predict. */
    private static final class CountingClock implements OpClock {
        int started;
        int stopped;
        int running = -1;
        boolean closed;

        @Override
        public void start(int span) {
            assertThat(running).as("one span at a time").isEqualTo(-1);
            running = span;
            started++;
        }

        @Override
        public void stop(int span) {
            assertThat(span).as("the span that started stops").isEqualTo(running);
            running = -1;
            stopped++;
        }

        @Override
        public double[] millis(int count) {
            double[] ms = new double[count];
            for (int i = 0; i < count; i++) {
                ms[i] = i + 1;
            }
            return ms;
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    private static final LlamaConfig MODEL = LlamaConfig.of(16, 24, 3, 4, 2, 32);
    private static final int LAYERS = MODEL.numHiddenLayers();

    /**
     * One forward and backward of 2 × 12 tokens, the MLP in chunks of 10 tokens (3 chunks) and the loss in chunks of
     * 16 (2 chunks), counted op by op against what {@code LlamaModel}, {@code DecoderLayer} and {@code LmHeadLoss}
     * run. Per layer: the forward's q, k, v, o projections and per MLP chunk gate, up, down are {@code x·Wᵀ}
     * ({@code matmul(transB)}); checkpointing recomputes q, k, v, o and, in the backward, gate and up per chunk; the
     * backward's input gradients (down, gate, up per chunk; o, q, k, v) are {@code dy·W} ({@code matmul}) and its
     * weight gradients {@code dyᵀ·x} ({@code matmul(transA)}). The lm head adds one of each per loss chunk. Without
     * checkpointing the MLP is kept whole, so nothing is recomputed and it runs once.
     */
    @ParameterizedTest(name = "activation checkpointing {0}")
    @ValueSource(booleans = {true, false})
    void aForwardBackwardCountsEveryOpTheModelRuns(boolean checkpointing) {
        int mlpChunks = 3;
        int lossChunks = 2;
        try (CpuBackend cpu = new CpuBackend(DType.F32); OpProfile profile = OpProfile.of(cpu)) {
            Backend b = profile.backend();
            LlamaWeights weights = LlamaWeights.initialize(b, MODEL, 3);
            LlamaModel model = new LlamaModel(weights, new LlamaModel.Options(checkpointing, 16, 10));
            TinyModels.Batch batch = TinyModels.Batch.random(new SplittableRandom(5), MODEL.vocabSize(), 2, 12);
            profile.reset();
            batch.forwardBackward(b, model, batch.count());
            ProfileReport report = profile.report();

            int c = checkpointing ? mlpChunks : 1;
            int forwardProjections = checkpointing ? 4 + 3 * c + 4 + 2 * c : 7;
            assertCalls(report, "attentionForward", (checkpointing ? 2 : 1) * LAYERS);
            assertCalls(report, "attentionBackward", LAYERS);
            assertCalls(report, "rmsNormForward", (checkpointing ? 4 : 2) * LAYERS + 1);
            assertCalls(report, "rmsNormBackward", 2 * LAYERS + 1);
            assertCalls(report, "rope", (checkpointing ? 6 : 4) * LAYERS);
            assertCalls(report, "swiGluForward", (checkpointing ? 2 * c : 1) * LAYERS);
            assertCalls(report, "swiGluBackward", c * LAYERS);
            assertCalls(report, "matmul(transB)", forwardProjections * LAYERS + lossChunks);
            assertCalls(report, "matmul", (3 * c + 4) * LAYERS + lossChunks);
            assertCalls(report, "matmul(transA)", (3 * c + 4) * LAYERS + lossChunks);
            assertCalls(report, "crossEntropyForwardBackward", lossChunks);
            assertCalls(report, "embeddingForward", 1);
            assertCalls(report, "embeddingBackward", 1);
            assertThat(report.op("matmul(transA,transB)")).isEmpty();
            assertThat(report.ops()).extracting(ProfileReport.Op::name)
                    .as("bookkeeping is not timed").doesNotContain("allocate", "view", "statsType", "floatType");
            assertThat(report.ops()).allSatisfy(op -> assertThat(op.millis()).isGreaterThanOrEqualTo(0));
            assertThat(report.opMillis()).isGreaterThan(0).isLessThanOrEqualTo(report.wallMillis());
            weights.close();
        }
    }

    private static void assertCalls(ProfileReport report, String op, int calls) {
        assertThat(report.op(op)).as(op).isPresent();
        assertThat(report.op(op).get().calls()).as("calls of %s", op).isEqualTo(calls);
    }

    @Test
    void theReportSumsEachOpsSpansMostTimeFirstAndResetForgetsThem() throws Exception {
        CountingClock clock = new CountingClock();
        try (CpuBackend cpu = new CpuBackend(DType.F32)) {
            OpProfile profile = new OpProfile(cpu, clock);
            Backend b = profile.backend();
            Tensor x = b.allocate(DType.F32, 2, 2);
            Tensor y = b.zeros(DType.F32, 2, 2);
            b.fill(x, 2);
            b.matmul(x, false, x, true, y, 1, 0);
            b.scale(y, 0.5);
            b.scale(y, 0.5);
            b.matmul(x, true, x, false, y, 1, 0);
            assertThat(b.download(y)).containsExactly(8, 8, 8, 8);

            // Spans 1 to 7 ms: zeros, fill, matmul(transB), scale, scale, matmul(transA), download.
            ProfileReport report = profile.report();
            assertThat(report.ops()).containsExactly(
                    new ProfileReport.Op("scale", 2, 4 + 5),
                    new ProfileReport.Op("download", 1, 7),
                    new ProfileReport.Op("matmul(transA)", 1, 6),
                    new ProfileReport.Op("matmul(transB)", 1, 3),
                    new ProfileReport.Op("fill", 1, 2),
                    new ProfileReport.Op("zeros", 1, 1));
            assertThat(report.opMillis()).isEqualTo(28);
            assertThat(report.op("scale").get().meanMillis()).isEqualTo(4.5);

            JsonNode json = new ObjectMapper().readTree(report.toJson(1, 7));
            assertThat(json.get("what").asText()).isEqualTo("op_profile");
            assertThat(json.get("rank").asInt()).isEqualTo(1);
            assertThat(json.get("step").asInt()).isEqualTo(7);
            assertThat(json.get("op_ms").asDouble()).isEqualTo(28);
            assertThat(json.get("wall_ms").asDouble()).isGreaterThanOrEqualTo(0);
            assertThat(json.get("ops")).hasSize(6);
            assertThat(json.get("ops").get(0).toString()).isEqualTo("{\"op\":\"scale\",\"calls\":2,\"ms\":9.0}");

            List<String> table = report.table(1, 7).lines().toList();
            assertThat(table).hasSize(8);
            assertThat(table.get(0)).startsWith("op profile, rank 1 step 7: wall ").contains("ops 28.000 ms");
            assertThat(table.get(2).trim().split(" +")).containsExactly("scale", "2", "9.000", "4.5000",
                    String.format(Locale.ROOT, "%.1f%%", 900 / report.wallMillis()));

            profile.reset();
            b.scale(y, 2);
            assertThat(profile.report().ops()).containsExactly(new ProfileReport.Op("scale", 1, 1));
            assertThat(clock.started).isEqualTo(8);
            assertThat(clock.stopped).isEqualTo(8);
            x.close();
            y.close();
            profile.close();
            assertThat(clock.closed).isTrue();
        }
    }

    @Test
    void aFailingOpThrowsItsOwnExceptionAndItsSpanStillEnds() {
        CountingClock clock = new CountingClock();
        try (CpuBackend cpu = new CpuBackend(DType.F32)) {
            Backend b = new OpProfile(cpu, clock).backend();
            Tensor x = b.allocate(DType.F32, 2, 3);
            Tensor y = b.allocate(DType.F32, 2, 2);
            Throwable plain = catchThrowable(() -> cpu.matmul(x, false, x, false, y, 1, 0));
            assertThat(plain).isNotNull();
            assertThatThrownBy(() -> b.matmul(x, false, x, false, y, 1, 0))
                    .isInstanceOf(plain.getClass()).hasMessage(plain.getMessage());
            assertThat(clock.stopped).isEqualTo(clock.started).isEqualTo(1);
        }
    }

    @Test
    void theWrapperUnwrapsToItsBackendAndIsEqualOnlyToItself() {
        try (CpuBackend cpu = new CpuBackend(DType.F64); OpProfile profile = OpProfile.of(cpu)) {
            Backend b = profile.backend();
            assertThat(b.unwrap()).isSameAs(cpu);
            assertThat(cpu.unwrap()).isSameAs(cpu);
            assertThat(b).isEqualTo(b).isNotEqualTo(cpu).hasSameHashCodeAs(b);
            assertThat(b.name()).isEqualTo(cpu.name());
            assertThat(b.statsType()).isEqualTo(DType.F64);
            assertThat(b.toString()).isEqualTo("profiled " + cpu.name());
            // Wrapping a wrapper still reaches the backend that does the work.
            try (OpProfile outer = OpProfile.of(b)) {
                assertThat(outer.backend().unwrap()).isSameAs(cpu);
            }
        }
    }
}
