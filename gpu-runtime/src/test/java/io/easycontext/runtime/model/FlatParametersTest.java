package io.easycontext.runtime.model;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.backend.cpu.CpuBackend;
import io.easycontext.runtime.tensor.DType;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class FlatParametersTest {

    private final Backend f32 = new CpuBackend(DType.F32);

    @Test
    void theLayoutAlignsEveryParameterAndCutsEqualAlignedShards() {
        Map<String, int[]> shapes = new java.util.LinkedHashMap<>();
        shapes.put("a", new int[]{3, 5});
        shapes.put("b", new int[]{70});
        shapes.put("c", new int[]{2, 2});
        FlatLayout layout = FlatLayout.of(shapes, 3);
        assertThat(layout.spans()).extracting(FlatLayout.Span::offset).containsExactly(0L, 64L, 192L);
        assertThat(layout.used()).isEqualTo(196);
        // ceil(196 / 3) = 66, aligned up to 128: three shards of 128, the last all padding but for nothing.
        assertThat(layout.shardSize()).isEqualTo(128);
        assertThat(layout.size()).isEqualTo(384);
        assertThat(layout.shardStart(2)).isEqualTo(256);
        assertThat(layout.span("b").end()).isEqualTo(134);
        assertThat(FlatLayout.shapeOf(3L << 31)).containsExactly((int) ((3L << 31) / 64), 64);
        assertThat(FlatLayout.of(shapes, 3).fingerprint()).isEqualTo(layout.fingerprint())
                .isNotEqualTo(FlatLayout.of(shapes, 2).fingerprint());
        assertThatThrownBy(() -> layout.shardStart(3)).isInstanceOf(IllegalArgumentException.class);
    }

    /** The model cannot tell: same initial values, same loss, same gradients, bit for bit. */
    @Test
    void aModelOverFlatViewsComputesWhatItDoesOverTensorsOfTheirOwn() {
        LlamaConfig config = TinyModels.GRADIENT_CHECK;
        LlamaWeights own = LlamaWeights.initialize(f32, config, 3);
        LlamaWeights flat = LlamaWeights.initializeFlat(f32, config, 3, 4);
        TinyModels.Batch batch = TinyModels.Batch.random(new SplittableRandom(2), config.vocabSize(), 2, 7);
        double a = batch.forwardBackward(f32, new LlamaModel(own, LlamaModel.Options.DEFAULTS), batch.count());
        double b = batch.forwardBackward(f32, new LlamaModel(flat, LlamaModel.Options.DEFAULTS), batch.count());
        assertThat(b).isEqualTo(a);
        for (Parameter p : own.parameters()) {
            Parameter q = flat.get(p.name());
            assertThat(f32.download(q.value())).as(p.name()).containsExactly(f32.download(p.value()));
            assertThat(f32.download(q.grad())).as(p.name()).containsExactly(f32.download(p.grad()));
        }
        assertThat(own.flat()).isEmpty();
        FlatParameters buffers = flat.flat().orElseThrow();
        assertThat(buffers.grads().numel()).isEqualTo(buffers.layout().size());
        flat.zeroGradients(f32);
        assertThat(f32.sumOfSquares(buffers.grads())).isZero();
    }

    @Test
    void parametersAreViewsOfTheBuffersAndShardsCoverThem() {
        LlamaWeights flat = LlamaWeights.initializeFlat(f32, TinyModels.GRADIENT_CHECK, 3, 2);
        FlatParameters buffers = flat.flat().orElseThrow();
        Parameter norm = flat.norm();
        long at = buffers.layout().span(norm.name()).offset();
        double[] all = f32.download(buffers.values());
        all[(int) at + 1] = 7;
        f32.upload(buffers.values(), toFloats(all));
        assertThat(f32.download(norm.value())[1]).isEqualTo(7);
        List<Parameter> params = buffers.parameters();
        assertThat(params).extracting(Parameter::name).containsExactlyElementsOf(LlamaWeights.layout(flat.config()).keySet());
        double shards = f32.sumOfSquares(buffers.valueShard(f32, 0)) + f32.sumOfSquares(buffers.valueShard(f32, 1));
        assertThat(shards).isCloseTo(f32.sumOfSquares(buffers.values()), within(1e-12 * shards));
    }

    private static float[] toFloats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }
}
