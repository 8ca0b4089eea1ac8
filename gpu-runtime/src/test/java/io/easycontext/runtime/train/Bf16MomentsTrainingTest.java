package io.easycontext.runtime.train;

import io.easycontext.runtime.comm.RankDevices;
import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.optim.OptimizerMoments;
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
import static org.assertj.core.api.Assertions.within;

/**
 * Whole training runs with {@code --optimizer-moments bf16}: close to the fp32-moments run but not the same numbers
 * (the option does something), and, sharded under every offload, the replicated bf16-moments run's numbers as
 * {@link ShardedTrainingTest} finds them for fp32 moments.
 */
class Bf16MomentsTrainingTest {

    private static final LlamaConfig MODEL = new LlamaConfig(32, 64, 2, 8, 4, 4, 64, 1e-5, 10000, 128, false, 0.2, null);

    private static TrainConfig config(ParallelMode mode, int world, int steps, double maxGradNorm, Sharding sharding,
                                      OptimizerMoments moments) {
        ParallelConfig parallel = ParallelConfig.resolve(mode, world, ParallelConfig.UNSET, ParallelConfig.UNSET,
                ParallelConfig.UNSET);
        return new TrainConfig(MODEL, parallel, 32, 2, 2, steps, 3e-3, 1, 0.1, maxGradNorm, 7,
                RankDevices.cpu(world, DType.F32), true, sharding, 0, moments);
    }

    private static List<StepMetrics> run(TrainConfig config) {
        return DistributedTrainer.train(config, new SyntheticData(config.seed(), MODEL.vocabSize()), m -> {
        });
    }

    @Test
    void bf16MomentsTrainCloseToFp32MomentsButNotBitForBit() {
        int steps = 6;
        List<StepMetrics> fp32 = run(config(ParallelMode.DATA_PARALLEL, 1, steps, 0.5, Sharding.REPLICATED,
                OptimizerMoments.FP32));
        List<StepMetrics> bf16 = run(config(ParallelMode.DATA_PARALLEL, 1, steps, 0.5, Sharding.REPLICATED,
                OptimizerMoments.BF16));
        assertThat(bf16).hasSize(steps);
        // The first loss comes before any update.
        assertThat(bf16.get(0).loss()).isEqualTo(fp32.get(0).loss());
        for (int i = 1; i < steps; i++) {
            double want = fp32.get(i).loss();
            assertThat(bf16.get(i).loss()).as("loss at step %d", i + 1).isCloseTo(want, within(1e-3 * want));
        }
        assertThat(bf16.subList(1, steps)).as("bf16 moments change the trajectory")
                .extracting(StepMetrics::loss)
                .isNotEqualTo(fp32.subList(1, steps).stream().map(StepMetrics::loss).toList());
        assertThat(bf16.get(steps - 1).loss()).as("the run learns").isLessThan(bf16.get(0).loss());
    }

    /** As {@link ShardedTrainingTest}: without clipping bit for bit, and the sharded runs do hold bf16 moments. */
    @ParameterizedTest(name = "{0} on cpu:{1}, offload {2}")
    @CsvSource({"DATA_PARALLEL, 2, NONE", "DATA_PARALLEL, 2, CPU", "DATA_PARALLEL, 2, GPU_STREAM",
            "ZIGZAG_RING_ATTN, 4, CPU"})
    void shardedBf16MomentRunsHaveTheReplicatedBf16MomentLosses(ParallelMode mode, int world, OffloadMode offload) {
        int steps = 4;
        List<StepMetrics> replicated = run(config(mode, world, steps, 0, Sharding.REPLICATED, OptimizerMoments.BF16));
        List<StepMetrics> sharded = run(config(mode, world, steps, 0, new Sharding(1, offload),
                OptimizerMoments.BF16));
        List<StepMetrics> fp32 = run(config(mode, world, steps, 0, Sharding.REPLICATED, OptimizerMoments.FP32));
        assertThat(sharded).extracting(StepMetrics::loss)
                .containsExactly(replicated.stream().map(StepMetrics::loss).toArray(Double[]::new));
        assertThat(sharded).extracting(StepMetrics::gradNorm).zipSatisfy(
                replicated.stream().map(StepMetrics::gradNorm).toList(),
                (got, want) -> assertThat(got).isCloseTo(want, within(1e-6 * want)));
        assertThat(sharded.get(steps - 1).loss()).isNotEqualTo(fp32.get(steps - 1).loss());
    }
}
