package io.easycontext.runtime.train;

import io.easycontext.runtime.comm.RankDevices;
import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.optim.zero.OffloadMode;
import io.easycontext.runtime.optim.zero.Sharding;
import io.easycontext.runtime.parallel.ParallelConfig;
import io.easycontext.runtime.parallel.ParallelMode;
import io.easycontext.runtime.tensor.DType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Whole training runs with the optimizer sharded (ZeRO stage 1, every offload) give the replicated run's losses and
 * gradient norms. The first step's loss is computed before any update and must be identical; later steps may differ
 * only by the norm's summation order (per shard, not per parameter), which can move a float32 weight by one ulp
 * when clipping acts: losses and norms within 1e-6 relative. The four-rank cases use sequence parallelism, so the
 * local gradients the sharded optimizer reduces are partial sums of a single sequence's.
 */
class ShardedTrainingTest {

    private static final LlamaConfig MODEL = new LlamaConfig(32, 64, 2, 8, 4, 4, 64, 1e-5, 10000, 128, false, 0.2, null);
    private static final int STEPS = 4;

    private static TrainConfig config(ParallelMode mode, int world, Sharding sharding) {
        ParallelConfig parallel = ParallelConfig.resolve(mode, world, ParallelConfig.UNSET, ParallelConfig.UNSET,
                ParallelConfig.UNSET);
        return new TrainConfig(MODEL, parallel, 32, 2, 2, STEPS, 3e-3, 1, 0.1, 0.5, 7,
                RankDevices.cpu(world, DType.F32), true, sharding);
    }

    private static List<StepMetrics> run(TrainConfig config) {
        return DistributedTrainer.train(config, new SyntheticData(config.seed(), MODEL.vocabSize()), m -> {
        });
    }

    @ParameterizedTest(name = "{0} on cpu:{1}, offload {2}")
    @CsvSource({
            "DATA_PARALLEL, 2, NONE", "DATA_PARALLEL, 2, CPU", "DATA_PARALLEL, 2, GPU_STREAM",
            "ZIGZAG_RING_ATTN, 4, NONE", "ZIGZAG_RING_ATTN, 4, CPU", "ULYSSES_ATTN, 4, GPU_STREAM"})
    void shardedRunsHaveTheReplicatedLosses(ParallelMode mode, int world, OffloadMode offload) {
        List<StepMetrics> replicated = run(config(mode, world, Sharding.REPLICATED));
        List<StepMetrics> sharded = run(config(mode, world, new Sharding(1, offload)));
        assertThat(sharded).hasSize(STEPS);
        assertThat(sharded.get(0).loss()).isEqualTo(replicated.get(0).loss());
        assertThat(replicated.get(0).gradNorm()).as("clipping acts").isGreaterThan(0.5);
        for (int i = 0; i < STEPS; i++) {
            StepMetrics want = replicated.get(i);
            StepMetrics got = sharded.get(i);
            assertThat(got.loss()).as("loss at step %d", i + 1).isCloseTo(want.loss(), within(1e-6 * want.loss()));
            assertThat(got.gradNorm()).as("norm at step %d", i + 1)
                    .isCloseTo(want.gradNorm(), within(1e-6 * want.gradNorm()));
            assertThat(got.lr()).isEqualTo(want.lr());
        }
        assertThat(replicated.get(STEPS - 1).loss()).as("the run learns").isLessThan(replicated.get(0).loss());
    }
}
