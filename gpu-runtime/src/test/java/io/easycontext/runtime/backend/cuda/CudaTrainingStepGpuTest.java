package io.easycontext.runtime.backend.cuda;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.backend.cpu.CpuBackend;
import io.easycontext.runtime.cuda.GpuTest;
import io.easycontext.runtime.cuda.Gpus;
import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.model.LlamaModel;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.model.LocalAttention;
import io.easycontext.runtime.optim.AdamW;
import io.easycontext.runtime.optim.LrSchedule;
import io.easycontext.runtime.optim.Optimizer;
import io.easycontext.runtime.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Whole training steps of the same model, weights and batch on the GPU (bf16) and on the CPU reference
 * (float32): the loss within 1e-2 relative and the gradient norm within 2e-2, at the first step and again
 * after two AdamW updates.
 */
@GpuTest
class CudaTrainingStepGpuTest {

    private static LlamaConfig config(String name) {
        return switch (name) {
            case "tiny" -> LlamaConfig.preset("tiny");
            // Mid-size: 4 layers, hidden 1024, head dim 128, GQA.
            case "mid" -> LlamaConfig.of(1024, 2816, 4, 8, 4, 8000);
            default -> throw new IllegalArgumentException(name);
        };
    }

    private record Step(double loss, double gradNorm) {
    }

    private static Step[] train(Backend backend, LlamaConfig config, int[] ids, int[] positions, int[] targets) {
        return train(backend, config, ids, positions, targets, LlamaModel.Options.DEFAULTS);
    }

    private static Step[] train(Backend backend, LlamaConfig config, int[] ids, int[] positions, int[] targets,
                                LlamaModel.Options options) {
        LlamaWeights weights = LlamaWeights.initialize(backend, config, 1234);
        LlamaModel model = new LlamaModel(weights, options);
        long count = LlamaModel.countTargets(targets);
        Step[] steps = new Step[3];
        try (Optimizer optimizer = new Optimizer(backend, weights.parameters(), AdamW.Hyper.DEFAULTS,
                LrSchedule.constant(1e-3), 1.0)) {
            for (int i = 0; i < steps.length; i++) {
                double lossSum = model.forwardBackward(backend, ids, positions, targets, 1, count, LocalAttention.INSTANCE);
                Optimizer.Update update = optimizer.step(backend);
                steps[i] = new Step(lossSum / count, update.gradNorm());
            }
        }
        return steps;
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny", "mid"})
    void gpuStepsMatchTheCpuReference(String name) {
        Gpus.assumeGpu();
        LlamaConfig config = config(name);
        int[][] batch = randomBatch(config, 777);
        Step[] want = train(new CpuBackend(DType.F32), config, batch[0], batch[1], batch[2]);
        Step[] got;
        try (CudaBackend gpu = new CudaBackend(0, 16L << 30)) {
            got = train(gpu, config, batch[0], batch[1], batch[2]);
        }
        assertSteps(got, want, 1e-2, 2e-2);
    }

    /**
     * Checkpoints parked in host memory come back byte for byte; what differs is only the order of the attention
     * backward's fp32 atomics, so the bounds are far below bf16's.
     */
    @Test
    void parkedCheckpointsTrainAsCheckpointsKeptOnTheGpu() {
        Gpus.assumeGpu();
        LlamaConfig config = config("mid");
        int[][] batch = randomBatch(config, 1500);
        try (CudaBackend gpu = new CudaBackend(0, 16L << 30)) {
            Step[] kept = train(gpu, config, batch[0], batch[1], batch[2]);
            Step[] parked = train(gpu, config, batch[0], batch[1], batch[2],
                    LlamaModel.Options.DEFAULTS.withOffloadedCheckpoints(config.numHiddenLayers()));
            assertSteps(parked, kept, 1e-3, 1e-3);
            assertThat(gpu.parkedHostBytes()).as("page-locked bytes kept for reuse")
                    .isGreaterThanOrEqualTo((long) config.numHiddenLayers() * 1500 * config.hiddenSize() * 2);
        }
    }

    private static int[][] randomBatch(LlamaConfig config, int t) {
        Random r = new Random(System.nanoTime());
        int[] ids = new int[t];
        int[] positions = new int[t];
        int[] targets = new int[t];
        for (int i = 0; i < t; i++) {
            ids[i] = r.nextInt(config.vocabSize());
            positions[i] = i;
            targets[i] = i % 9 == 0 ? LlamaModel.IGNORE_INDEX : r.nextInt(config.vocabSize());
        }
        return new int[][]{ids, positions, targets};
    }

    private static void assertSteps(Step[] got, Step[] want, double lossBound, double normBound) {
        for (int i = 0; i < want.length; i++) {
            assertThat(Math.abs(got[i].loss() - want[i].loss()) / want[i].loss())
                    .as("loss at step %d: %s vs %s", i + 1, got[i], want[i]).isLessThan(lossBound);
            assertThat(Math.abs(got[i].gradNorm() - want[i].gradNorm()) / want[i].gradNorm())
                    .as("grad norm at step %d: %s vs %s", i + 1, got[i], want[i]).isLessThan(normBound);
        }
    }
}
