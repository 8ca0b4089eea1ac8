package io.easycontext.runtime.model;

import io.easycontext.runtime.backend.cpu.CpuBackend;
import io.easycontext.runtime.tensor.DType;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** The forward-only logits at chosen rows agree with the loss the model computes from all of them. */
class LlamaModelLogitsTest {

    private final CpuBackend f64 = new CpuBackend(DType.F64);
    private final LlamaConfig config = LlamaConfig.of(16, 24, 2, 4, 2, 40).withInitializerRange(0.3);

    @Test
    void crossEntropyOfTheChosenRowsIsTheModelsLoss() {
        LlamaModel model = new LlamaModel(LlamaWeights.initialize(f64, config, 9), LlamaModel.Options.DEFAULTS);
        SplittableRandom rng = new SplittableRandom(4);
        int batch = 2;
        int t = 13;
        int[] ids = rng.ints(batch * t, 0, config.vocabSize()).toArray();
        int[] positions = IntStream.range(0, batch * t).map(i -> i % t).toArray();
        int[] rows = {0, 5, 12, 13, 20, 25};
        int[] targets = new int[batch * t];
        Arrays.fill(targets, LlamaModel.IGNORE_INDEX);
        double expected = 0;
        double[][] logits = model.logitsAt(f64, ids, positions, batch, rows, LocalAttention.INSTANCE);
        assertThat(logits).hasDimensions(rows.length, config.vocabSize());
        for (int i = 0; i < rows.length; i++) {
            int target = rng.nextInt(config.vocabSize());
            targets[rows[i]] = target;
            double max = Arrays.stream(logits[i]).max().orElseThrow();
            double logSum = max + Math.log(Arrays.stream(logits[i]).map(l -> Math.exp(l - max)).sum());
            expected += logSum - logits[i][target];
        }
        double loss = model.loss(f64, ids, positions, targets, batch, LocalAttention.INSTANCE);
        assertThat(loss).isCloseTo(expected, within(1e-10));
    }

    @Test
    void rowsOutsideTheTokensAreRefused() {
        LlamaModel model = new LlamaModel(LlamaWeights.initialize(f64, config, 9), LlamaModel.Options.DEFAULTS);
        assertThatThrownBy(() -> model.logitsAt(f64, new int[] {1, 2}, new int[] {0, 1}, 1, new int[] {2},
                LocalAttention.INSTANCE)).hasMessageContaining("row 2");
    }
}
