package io.easycontext.runtime.eval.model;

import io.easycontext.runtime.backend.cpu.CpuBackend;
import io.easycontext.runtime.comm.InProcessRanks;
import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.model.LlamaModel;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.parallel.ParallelConfig;
import io.easycontext.runtime.parallel.ParallelMode;
import io.easycontext.runtime.tensor.DType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * A sequence shared among ranks gives the logits and the loss of the whole sequence on one rank: every scored
 * position is answered by exactly one rank, with the same logits within float32 rounding.
 */
class ShardedEvalModelTest {

    private static final LlamaConfig CONFIG = LlamaConfig.of(32, 48, 2, 4, 2, 300).withInitializerRange(0.2);
    /** Odd, so that the sequence needs padding on every world size. */
    private static final int LENGTH = 53;

    private record Answer(Map<Integer, double[]> logits, double nllSum, double nllTokens) {
    }

    private static Answer run(ParallelMode mode, int world, int[] ids, int[] positions, int[] targets) {
        ParallelConfig parallel = ParallelConfig.resolve(mode, world, 1, ParallelConfig.UNSET, ParallelConfig.UNSET);
        List<Answer> answers = InProcessRanks.run(world, comm -> {
            CpuBackend backend = new CpuBackend(DType.F32);
            try (LlamaWeights weights = LlamaWeights.initialize(backend, CONFIG, 3)) {
                ShardedEvalModel model = new ShardedEvalModel(backend,
                        new LlamaModel(weights, LlamaModel.Options.DEFAULTS), comm, parallel);
                Map<Integer, double[]> logits = model.logitsAt(ids, positions);
                EvalModel.Nll nll = model.nll(ids, targets);
                return new Answer(logits, model.sumOverRanks(nll.sum()), model.sumOverRanks(nll.tokens()));
            }
        });
        Map<Integer, double[]> all = new HashMap<>();
        for (Answer a : answers) {
            for (Map.Entry<Integer, double[]> e : a.logits().entrySet()) {
                assertThat(all.put(e.getKey(), e.getValue())).as("position %d answered twice", e.getKey()).isNull();
            }
            assertThat(a.nllSum()).isEqualTo(answers.get(0).nllSum());
        }
        return new Answer(all, answers.get(0).nllSum(), answers.get(0).nllTokens());
    }

    @ParameterizedTest
    @CsvSource({"zigzag_ring_attn, 2", "zigzag_ring_attn, 4", "ring_attn, 3", "ulysses_attn, 2"})
    void shardedForwardEqualsTheWholeSequenceOnOneRank(String mode, int world) {
        SplittableRandom rng = new SplittableRandom(11);
        int[] ids = rng.ints(LENGTH, 0, CONFIG.vocabSize()).toArray();
        int[] positions = {0, 1, 17, 26, 27, 40, 51, 52};
        int[] targets = new int[LENGTH];
        for (int i = 0; i < LENGTH; i++) {
            targets[i] = i % 3 == 0 || i == LENGTH - 1 ? LlamaModel.IGNORE_INDEX : ids[i + 1];
        }
        Answer one = run(ParallelMode.ZIGZAG_RING_ATTN, 1, ids, positions, targets);
        Answer many = run(ParallelMode.parse(mode), world, ids, positions, targets);

        assertThat(many.logits().keySet()).containsExactlyInAnyOrderElementsOf(one.logits().keySet())
                .hasSize(positions.length);
        for (int p : positions) {
            double[] want = one.logits().get(p);
            double[] got = many.logits().get(p);
            assertThat(got).hasSize(CONFIG.vocabSize());
            for (int v = 0; v < want.length; v++) {
                assertThat(got[v]).as("position %d, token %d", p, v).isCloseTo(want[v], within(1e-5));
            }
        }
        assertThat(many.nllTokens()).isEqualTo(one.nllTokens()).isEqualTo(LENGTH - 1 - 18);
        assertThat(many.nllSum()).isCloseTo(one.nllSum(), within(1e-4 * one.nllSum()));
    }
}
