package io.easycontext.runtime.train;

import io.easycontext.runtime.backend.cpu.CpuBackend;
import io.easycontext.runtime.comm.RankDevices;
import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.model.Parameter;
import io.easycontext.runtime.optim.zero.OffloadMode;
import io.easycontext.runtime.optim.zero.Sharding;
import io.easycontext.runtime.parallel.ParallelConfig;
import io.easycontext.runtime.parallel.ParallelMode;
import io.easycontext.runtime.profile.ProfileReport;
import io.easycontext.runtime.tensor.DType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A run with its ops profiled trains bit for bit as the same run without, replicated and sharded (the offloaded
 * optimizer's transfers find the backend under the profile), and every rank reports every step.
 */
class ProfiledTrainingTest {

    private static final LlamaConfig MODEL = new LlamaConfig(32, 64, 2, 8, 4, 4, 64, 1e-5, 10000, 128, false, 0.2, null);
    private static final int STEPS = 3;
    private static final int ACCUMULATION = 2;

    private record Seen(int rank, int step, ProfileReport report) {
    }

    private static TrainConfig config(ParallelMode mode, int world, Sharding sharding) {
        ParallelConfig parallel = ParallelConfig.resolve(mode, world, ParallelConfig.UNSET, ParallelConfig.UNSET,
                ParallelConfig.UNSET);
        return new TrainConfig(MODEL, parallel, 32, 2, ACCUMULATION, STEPS, 3e-3, 1, 0.1, 0.5, 7,
                RankDevices.cpu(world, DType.F32), true, sharding);
    }

    private static DistributedTrainer.Result run(TrainConfig config, StepProfiles profiles) {
        return DistributedTrainer.train(config, new SyntheticData(config.seed(), MODEL.vocabSize()), m -> { },
                CancellationToken.NONE, null, true, Checkpointing.NONE, profiles);
    }

    @ParameterizedTest(name = "{0} on cpu:{1}, zero stage {2}, offload {3}")
    @CsvSource({"DATA_PARALLEL, 1, 0, NONE", "ZIGZAG_RING_ATTN, 2, 1, CPU", "ULYSSES_ATTN, 2, 3, GPU_STREAM"})
    void aProfiledRunTrainsBitForBitAsThePlainOne(ParallelMode mode, int world, int stage, OffloadMode offload) {
        TrainConfig config = config(mode, world, stage == 0 ? Sharding.REPLICATED : new Sharding(stage, offload));
        List<Seen> seen = Collections.synchronizedList(new ArrayList<>());

        DistributedTrainer.Result plain = run(config, null);
        DistributedTrainer.Result profiled = run(config, (rank, step, report) -> seen.add(new Seen(rank, step, report)));

        assertThat(profiled.steps()).hasSize(STEPS);
        for (int i = 0; i < STEPS; i++) {
            StepMetrics want = plain.steps().get(i);
            StepMetrics got = profiled.steps().get(i);
            assertThat(got.loss()).as("loss at step %d", i + 1).isEqualTo(want.loss());
            assertThat(got.gradNorm()).as("norm at step %d", i + 1).isEqualTo(want.gradNorm());
            assertThat(got.lr()).isEqualTo(want.lr());
        }
        Map<String, double[]> want = values(plain.finalWeights());
        Map<String, double[]> got = values(profiled.finalWeights());
        assertThat(got.keySet()).containsExactlyElementsOf(want.keySet());
        want.forEach((name, values) -> assertThat(got.get(name)).as(name).containsExactly(values));

        assertThat(seen).hasSize(world * STEPS);
        for (int rank = 0; rank < world; rank++) {
            int r = rank;
            List<Seen> ofRank = seen.stream().filter(s -> s.rank() == r).toList();
            assertThat(ofRank).extracting(Seen::step).containsExactly(1, 2, 3);
            for (Seen s : ofRank) {
                ProfileReport report = s.report();
                assertThat(report.op("attentionForward")).as("rank %d step %d", r, s.step()).isPresent();
                // Offloaded to the CPU, the optimizer updates on the host, outside any op.
                assertThat(report.op("adamW").isPresent()).as("adamW timed").isEqualTo(offload != OffloadMode.CPU);
                assertThat(report.opMillis()).isGreaterThan(0).isLessThanOrEqualTo(report.wallMillis());
            }
            // Every step runs the same ops: what one reports is that step's, not a sum since the start.
            assertThat(calls(ofRank.get(2).report())).isEqualTo(calls(ofRank.get(1).report()));
        }
        if (world == 1) {
            ProfileReport step = seen.get(0).report();
            // Per micro-batch each layer's attention runs in the forward and again in checkpointing's recompute.
            assertThat(step.op("attentionForward").orElseThrow().calls())
                    .isEqualTo(ACCUMULATION * 2 * MODEL.numHiddenLayers());
            assertThat(step.op("adamW").orElseThrow().calls()).isEqualTo(LlamaWeights.layout(MODEL).size());
        }
    }

    private static Map<String, Integer> calls(ProfileReport report) {
        Map<String, Integer> calls = new LinkedHashMap<>();
        report.ops().forEach(op -> calls.put(op.name(), op.calls()));
        return calls;
    }

    private static Map<String, double[]> values(WeightsSnapshot snapshot) {
        Map<String, double[]> values = new LinkedHashMap<>();
        try (CpuBackend cpu = new CpuBackend(DType.F32);
             LlamaWeights weights = LlamaWeights.load(cpu, MODEL, snapshot.loader(cpu, MODEL))) {
            for (Parameter p : weights.parameters()) {
                values.put(p.name(), cpu.download(p.value()));
            }
        }
        return values;
    }
}
