package io.easycontext.runtime.model;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.backend.cpu.CpuBackend;
import io.easycontext.runtime.backend.cpu.TrackingBackend;
import io.easycontext.runtime.comm.InProcessRanks;
import io.easycontext.runtime.parallel.ParallelConfig;
import io.easycontext.runtime.parallel.ParallelRank;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Keeping the attention output of the last layers through activation checkpointing: the recomputation rebinds the
 * kept output and log-sum-exp to the recomputed q, k, v instead of running the attention again, which changes no bit
 * of the loss or of any gradient, in every mode, and returns every byte it allocated.
 */
class KeptAttentionTest {

    /** Three layers, so that one kept layer, all but one and all differ; GQA, 8 query and 4 kv heads. */
    private static final LlamaConfig MODEL = LlamaConfig.of(32, 64, 3, 8, 4, 64);

    /** Counts the forwards and rebinds of the op it wraps. */
    private static final class Counting implements AttentionOp {
        private final AttentionOp inner;
        int forwards;
        int rebinds;

        Counting(AttentionOp inner) {
            this.inner = inner;
        }

        @Override
        public AttentionState forward(Backend backend, Tensor q, Tensor k, Tensor v, double scale, Tensor out) {
            forwards++;
            return inner.forward(backend, q, k, v, scale, out);
        }

        @Override
        public void backward(Backend backend, AttentionState state, Tensor dOut, Tensor dq, Tensor dk, Tensor dv) {
            inner.backward(backend, state, dOut, dq, dk, dv);
        }

        @Override
        public boolean readsInputsInBackward() {
            return inner.readsInputsInBackward();
        }

        @Override
        public AttentionState detach(Backend backend, AttentionState state) {
            return inner.detach(backend, state);
        }

        @Override
        public AttentionState rebind(Backend backend, AttentionState kept, Tensor q, Tensor k, Tensor v, Tensor out) {
            rebinds++;
            return inner.rebind(backend, kept, q, k, v, out);
        }
    }

    /** One step's loss and every gradient, concatenated. */
    private record Step(double loss, double[] gradients) {
    }

    private static Step step(Backend b, LlamaConfig config, LlamaModel.Options options, int[] ids, int[] positions,
                             int[] targets, int batch, long count, AttentionOp attention) {
        LlamaWeights w = LlamaWeights.initialize(b, config, 1);
        double loss = new LlamaModel(w, options).forwardBackward(b, ids, positions, targets, batch, count, attention);
        Step s = new Step(loss, LlamaModelTest.concatenatedGradients(b, w));
        w.close();
        return s;
    }

    @Test
    void theLastLayersSkipTheAttentionForwardOfTheirRecomputationAndChangeNoBit() {
        TinyModels.Batch batch = TinyModels.Batch.random(new SplittableRandom(11), MODEL.vocabSize(), 2, 16);
        Backend f32 = new CpuBackend(DType.F32);
        int layers = MODEL.numHiddenLayers();
        Counting plain = new Counting(LocalAttention.INSTANCE);
        Step want = step(f32, MODEL, LlamaModel.Options.DEFAULTS, batch.ids(), batch.positions(), batch.targets(),
                batch.batch(), batch.count(), plain);
        assertThat(plain.forwards).as("a forward and a recomputation per layer").isEqualTo(2 * layers);
        assertThat(plain.rebinds).isZero();
        for (int parked : new int[] {0, 1, layers}) {
            for (int kept : new int[] {0, 1, layers - 1, layers, layers + 5}) {
                LlamaModel.Options o = LlamaModel.Options.DEFAULTS.withOffloadedCheckpoints(parked)
                        .withKeptAttentionLayers(kept);
                Counting counting = new Counting(LocalAttention.INSTANCE);
                Step got = step(f32, MODEL, o, batch.ids(), batch.positions(), batch.targets(), batch.batch(),
                        batch.count(), counting);
                int n = Math.min(kept, layers);
                assertThat(counting.forwards).as("%s", o).isEqualTo(layers + layers - n);
                assertThat(counting.rebinds).as("%s", o).isEqualTo(n);
                assertThat(got.loss()).as("%s", o).isEqualTo(want.loss());
                assertThat(got.gradients()).as("%s", o).containsExactly(want.gradients());
            }
        }
        assertThatThrownBy(() -> new LlamaModel.Options(false, 1024).withKeptAttentionLayers(1))
                .hasMessage("keptAttentionLayers must be 0, or positive with activation checkpointing, got 1");
        assertThatThrownBy(() -> LlamaModel.Options.DEFAULTS.withKeptAttentionLayers(-1))
                .hasMessageContaining("got -1");
    }

    static Stream<ParallelConfig> layouts() {
        return SequenceParallelMemoryTest.LAYOUTS.stream();
    }

    /**
     * On every rank of every mode, one and all layers kept give the loss and gradients of none, bit for bit, on a
     * backend that fails on any use of a freed tensor (a head shard that detach freed, say) and counts what is left.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("layouts")
    void everyModeRebindsToTheSameBits(ParallelConfig parallel) {
        // Ulysses splits the kv heads up to four ways.
        LlamaConfig model = MODEL;
        int batch = 2;
        int seq = 16;
        TinyModels.Batch global = TinyModels.Batch.random(new SplittableRandom(5), model.vocabSize(), batch, seq);
        int layers = model.numHiddenLayers();
        List<List<Step>> ranks = InProcessRanks.run(parallel.worldSize(), Duration.ofSeconds(60), comm -> {
            TrackingBackend b = new TrackingBackend(DType.F32, DType.F64);
            ParallelRank rank = ParallelRank.create(b.communicator(comm), parallel, seq);
            List<Step> steps = new ArrayList<>();
            for (int kept : new int[] {0, 1, layers}) {
                long before = b.liveBytes();
                steps.add(step(b, model, LlamaModel.Options.DEFAULTS.withKeptAttentionLayers(kept),
                        rank.shard(global.ids(), batch), rank.positionIds(batch), rank.shard(global.targets(), batch),
                        batch, global.count(), rank.attention()));
                assertThat(b.liveBytes()).as("%d kept: everything allocated is closed", kept).isEqualTo(before);
            }
            return steps;
        });
        for (List<Step> steps : ranks) {
            for (Step s : steps.subList(1, steps.size())) {
                assertThat(s.loss()).isEqualTo(steps.get(0).loss());
                assertThat(s.gradients()).containsExactly(steps.get(0).gradients());
            }
        }
    }
}
