package io.easycontext.runtime.optim.zero;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.backend.cpu.CpuBackend;
import io.easycontext.runtime.comm.InProcessRanks;
import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.model.TinyModels;
import io.easycontext.runtime.optim.AdamW;
import io.easycontext.runtime.optim.LrSchedule;
import io.easycontext.runtime.optim.Optimizer;
import io.easycontext.runtime.optim.OptimizerMoments;
import io.easycontext.runtime.parallel.GradientSync;
import io.easycontext.runtime.tensor.Bf16;
import io.easycontext.runtime.tensor.DType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link ShardedOptimizerTest}'s bit-for-bit case with bf16 moments: the sharded optimizer, its state on the device,
 * updated by the host ({@code cpu}) or streamed through the device ({@code gpu_stream}), ends every rank with the
 * replicated bf16-moments optimizer's weights bit for bit, keeps its moments in bf16 wherever they live, and ends
 * elsewhere than fp32 moments would.
 */
class Bf16MomentsShardedOptimizerTest {

    private static final LlamaConfig CONFIG = TinyModels.GRADIENT_CHECK;
    private static final long SEED = 5;
    private static final int STEPS = 5;
    private static final AdamW.Hyper HYPER = new AdamW.Hyper(0.9, 0.95, 1e-8, 0.1, OptimizerMoments.BF16);
    private static final LrSchedule SCHEDULE = LrSchedule.warmupCosine(3e-2, 2, STEPS, 0.1);
    /** Not a multiple of the alignment: chunk boundaries fall inside parameters, and the ring wraps several times. */
    private static final int CHUNK = 100;

    private static Map<String, double[]> replicated(DType dtype, int world, AdamW.Hyper hyper) {
        return InProcessRanks.run(world, comm -> {
            Backend backend = new CpuBackend(dtype);
            LlamaWeights w = LlamaWeights.initialize(backend, CONFIG, SEED);
            try (Optimizer opt = new Optimizer(backend, w.parameters(), hyper, SCHEDULE, 0)) {
                for (int s = 0; s < STEPS; s++) {
                    ShardedOptimizerTest.localGradients(backend, w.parameters(), comm.rank(), s);
                    GradientSync.allReduce(comm, w.parameters());
                    opt.step(backend);
                }
            }
            return ShardedOptimizerTest.values(backend, w.parameters());
        }).get(0);
    }

    private record Sharded(Map<String, double[]> weights, List<String> vectorTypes, boolean momentsAreBf16) {
    }

    private static List<Sharded> sharded(DType dtype, int world, OffloadMode offload) {
        return InProcessRanks.run(world, comm -> {
            Backend backend = new CpuBackend(dtype);
            LlamaWeights w = LlamaWeights.initializeFlat(backend, CONFIG, SEED, comm.size());
            try (ShardedOptimizer opt = new ShardedOptimizer(backend, comm, w.flat().orElseThrow(), w.parameters(),
                    HYPER, SCHEDULE, 0, offload, CHUNK)) {
                assertThat(opt.moments()).isEqualTo(OptimizerMoments.BF16);
                for (int s = 0; s < STEPS; s++) {
                    ShardedOptimizerTest.localGradients(backend, w.parameters(), comm.rank(), s);
                    opt.step(backend);
                }
                List<String> types = new ArrayList<>();
                boolean bf16 = true;
                for (ShardState.Vector vector : opt.state().vectors()) {
                    types.add(vector.name() + " " + vector.dtype());
                    if (!vector.name().equals(ShardState.MASTER)) {
                        for (double value : vector.read(0, Math.toIntExact(vector.length()))) {
                            bf16 &= value == Bf16.round((float) value);
                        }
                    }
                }
                return new Sharded(ShardedOptimizerTest.values(backend, w.parameters()), types, bf16);
            }
        });
    }

    static Stream<Arguments> cases() {
        return ShardedOptimizerTest.cases(1, 3);
    }

    @ParameterizedTest(name = "{0} on {1} ranks, offload {2}")
    @MethodSource("cases")
    void everyRankEndsWithTheReplicatedBf16MomentWeightsBitForBit(DType dtype, int world, OffloadMode offload) {
        Map<String, double[]> want = replicated(dtype, world, HYPER);
        Map<String, double[]> fp32 = replicated(dtype, world, HYPER.withMoments(OptimizerMoments.FP32));
        for (Sharded rank : sharded(dtype, world, offload)) {
            assertThat(rank.vectorTypes()).containsExactly(ShardState.EXP_AVG + " BF16",
                    ShardState.EXP_AVG_SQ + " BF16");
            assertThat(rank.momentsAreBf16()).isTrue();
            want.forEach((name, values) -> assertThat(rank.weights().get(name)).as(name).containsExactly(values));
            assertThat(rank.weights()).as("fp32 moments end elsewhere")
                    .anySatisfy((name, values) -> assertThat(values).isNotEqualTo(fp32.get(name)));
        }
    }
}
