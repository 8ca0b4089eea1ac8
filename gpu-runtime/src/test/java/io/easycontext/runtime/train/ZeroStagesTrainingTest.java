package io.easycontext.runtime.train;

import io.easycontext.runtime.comm.RankDevices;
import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.optim.zero.OffloadMode;
import io.easycontext.runtime.optim.zero.Sharding;
import io.easycontext.runtime.parallel.ParallelConfig;
import io.easycontext.runtime.parallel.ParallelMode;
import io.easycontext.runtime.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * Whole training runs under ZeRO stages 2 (gradients reduce-scattered unit by unit during the backward) and 3 (and
 * parameters gathered unit by unit) give the losses and gradient norms of the replicated run and of stage 1.
 *
 * <p>What is exact and what is not: the first step's loss comes before any update and is identical. With one
 * micro-batch the reduced gradients are bit for bit those of stages 0 and 1 (the in-process communicator sums in rank
 * order and rounds once, whatever the cut), so without clipping every later loss is identical too; with clipping the
 * norm's sum of squares runs over the unit-wise shards, which moves the clip coefficient by an ulp or so, as stage 1's
 * per-shard sum does: 1e-6 relative, stage 1's tolerance. With two micro-batches stages 2 and 3 reduce each one's
 * gradients and add the sums (stage 1 adds the local gradients and reduces once), a float32 rounding apart. Stages 2
 * and 3 do the same arithmetic on the same shards, so they agree bit for bit with each other always.
 */
class ZeroStagesTrainingTest {

    private static final LlamaConfig UNTIED = new LlamaConfig(32, 64, 2, 8, 4, 4, 64, 1e-5, 10000, 128, false, 0.2,
            null);
    private static final LlamaConfig TIED = new LlamaConfig(32, 64, 2, 8, 4, 4, 64, 1e-5, 10000, 128, true, 0.2,
            null);
    private static final int STEPS = 3;

    private static TrainConfig config(LlamaConfig model, ParallelMode mode, int world, int accumulation,
                                      double maxGradNorm, Sharding sharding) {
        ParallelConfig parallel = ParallelConfig.resolve(mode, world, ParallelConfig.UNSET, ParallelConfig.UNSET,
                ParallelConfig.UNSET);
        return new TrainConfig(model, parallel, 32, 2, accumulation, STEPS, 3e-3, 1, 0.1, maxGradNorm, 7,
                RankDevices.cpu(world, DType.F32), true, sharding);
    }

    private static List<StepMetrics> run(TrainConfig config) {
        return DistributedTrainer.train(config, new SyntheticData(config.seed(), config.model().vocabSize()), m -> {
        });
    }

    @ParameterizedTest(name = "{0} on cpu:{1}, {3} micro-batch(es), tied {4}, offload {2}")
    @CsvSource({
            "DATA_PARALLEL, 2, NONE, 1, false",
            "DATA_PARALLEL, 4, CPU, 1, true",
            "ZIGZAG_RING_ATTN, 4, NONE, 1, false",
            "ULYSSES_ATTN, 4, GPU_STREAM, 1, true",
            "ZIGZAG_RING_ATTN, 2, NONE, 2, false"})
    void stagesTwoAndThreeHaveTheLossesOfStagesZeroAndOne(ParallelMode mode, int world, OffloadMode offload,
                                                          int accumulation, boolean tied) {
        LlamaConfig model = tied ? TIED : UNTIED;
        List<StepMetrics> replicated = run(config(model, mode, world, accumulation, 0.5, Sharding.REPLICATED));
        List<StepMetrics> stage1 = run(config(model, mode, world, accumulation, 0.5, new Sharding(1, offload)));
        List<StepMetrics> stage2 = run(config(model, mode, world, accumulation, 0.5, new Sharding(2, offload)));
        List<StepMetrics> stage3 = run(config(model, mode, world, accumulation, 0.5, new Sharding(3, offload)));
        assertThat(replicated.get(0).gradNorm()).as("clipping acts").isGreaterThan(0.5);
        assertThat(replicated.get(STEPS - 1).loss()).as("the run learns").isLessThan(replicated.get(0).loss());
        for (List<StepMetrics> sharded : List.of(stage2, stage3)) {
            assertThat(sharded).hasSize(STEPS);
            assertThat(sharded.get(0).loss()).isEqualTo(replicated.get(0).loss());
            for (int i = 0; i < STEPS; i++) {
                for (List<StepMetrics> want : List.of(replicated, stage1)) {
                    StepMetrics w = want.get(i);
                    StepMetrics got = sharded.get(i);
                    assertThat(got.loss()).as("loss at step %d", i + 1).isCloseTo(w.loss(), within(1e-6 * w.loss()));
                    assertThat(got.gradNorm()).as("norm at step %d", i + 1)
                            .isCloseTo(w.gradNorm(), within(1e-6 * w.gradNorm()));
                    assertThat(got.lr()).isEqualTo(w.lr());
                }
            }
        }
        assertThat(stage3).as("stage 3 computes stage 2's numbers").isEqualTo(stage2WithTimesOf(stage2, stage3));
    }

    /** Without clipping, one micro-batch: every loss is the replicated run's, bit for bit. */
    @Test
    void withoutClippingEveryLossIsBitForBitTheReplicatedOne() {
        List<StepMetrics> replicated = run(config(UNTIED, ParallelMode.ZIGZAG_RING_ATTN, 2, 1, 0, Sharding.REPLICATED));
        for (int stage = 2; stage <= 3; stage++) {
            List<StepMetrics> sharded = run(config(UNTIED, ParallelMode.ZIGZAG_RING_ATTN, 2, 1, 0,
                    new Sharding(stage, OffloadMode.NONE)));
            for (int i = 0; i < STEPS; i++) {
                assertThat(sharded.get(i).loss()).as("stage %d, loss at step %d", stage, i + 1)
                        .isEqualTo(replicated.get(i).loss());
                assertThat(sharded.get(i).gradNorm()).isCloseTo(replicated.get(i).gradNorm(),
                        within(1e-12 * replicated.get(i).gradNorm()));
            }
        }
    }

    /** The numbers of {@code b} with the step times and memory of {@code a}: those alone may differ. */
    private static List<StepMetrics> stage2WithTimesOf(List<StepMetrics> a, List<StepMetrics> b) {
        return java.util.stream.IntStream.range(0, a.size()).mapToObj(i -> new StepMetrics(a.get(i).step(),
                a.get(i).loss(), a.get(i).gradNorm(), a.get(i).lr(), a.get(i).tokens(), b.get(i).tokensPerSec(),
                b.get(i).peakDeviceBytes())).toList();
    }

    @Test
    void stagesTwoAndThreeNeedMoreThanOneRank() {
        assertThatThrownBy(() -> config(UNTIED, ParallelMode.DATA_PARALLEL, 1, 1, 1, new Sharding(3, OffloadMode.NONE)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("ZeRO stage 3 shards gradients and parameters over the ranks")
                .hasMessageContaining("zero stage 1");
    }
}
