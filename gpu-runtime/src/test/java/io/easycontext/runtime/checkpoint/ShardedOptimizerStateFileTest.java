package io.easycontext.runtime.checkpoint;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.backend.cpu.CpuBackend;
import io.easycontext.runtime.comm.InProcessRanks;
import io.easycontext.runtime.io.InvalidFileException;
import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.model.Parameter;
import io.easycontext.runtime.model.TinyModels;
import io.easycontext.runtime.optim.AdamW;
import io.easycontext.runtime.optim.LrSchedule;
import io.easycontext.runtime.optim.Optimizer;
import io.easycontext.runtime.optim.zero.OffloadMode;
import io.easycontext.runtime.optim.zero.ShardedOptimizer;
import io.easycontext.runtime.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A sharded optimizer's state saved per rank and restored into fresh ranks continues the run bit for bit: N steps
 * in one go equal k steps, a save, a restore into new ranks (weights and shards) and N − k more. Where the state
 * lives may change across the restore, since the file holds the values, not the memory.
 */
class ShardedOptimizerStateFileTest {

    private static final LlamaConfig CONFIG = TinyModels.GRADIENT_CHECK;
    private static final AdamW.Hyper HYPER = new AdamW.Hyper(0.9, 0.95, 1e-8, 0.1);
    private static final int STEPS = 5;
    private static final LrSchedule SCHEDULE = LrSchedule.warmupCosine(3e-2, 2, STEPS, 0.1);

    @TempDir
    Path dir;

    private static void localGradients(Backend backend, List<Parameter> parameters, int rank, int step) {
        for (Parameter p : parameters) {
            SplittableRandom rng = new SplittableRandom(p.name().hashCode() + 101L * rank + 10_007L * step);
            double[] g = new double[Math.toIntExact(p.grad().numel())];
            for (int i = 0; i < g.length; i++) {
                g[i] = rng.nextDouble(-0.5, 0.5);
            }
            backend.uploadDoubles(p.grad(), g);
        }
    }

    private static ShardedOptimizer optimizer(Backend backend, io.easycontext.runtime.comm.Communicator comm,
                                              LlamaWeights w, OffloadMode offload) {
        return new ShardedOptimizer(backend, comm, w.flat().orElseThrow(), w.parameters(), HYPER, SCHEDULE, 1.0,
                offload);
    }

    private static Map<String, double[]> values(Backend backend, LlamaWeights w) {
        Map<String, double[]> v = new LinkedHashMap<>();
        w.parameters().forEach(p -> v.put(p.name(), backend.download(p.value())));
        return v;
    }

    /**
     * Steps {@code [from, to)} from the seed's weights, or from {@code restore} (weights, and the shards under
     * {@code dir}); with {@code save}, writes each rank's shard to {@code dir} at the end.
     */
    private List<Map<String, double[]>> run(int world, OffloadMode offload, int from, int to,
                                            Map<String, double[]> restore, boolean save) {
        return InProcessRanks.run(world, comm -> {
            Backend backend = new CpuBackend(DType.F32);
            LlamaWeights w = LlamaWeights.initializeFlat(backend, CONFIG, 9, comm.size());
            if (restore != null) {
                w.parameters().forEach(p -> backend.uploadDoubles(p.value(), restore.get(p.name())));
            }
            try (ShardedOptimizer opt = optimizer(backend, comm, w, offload)) {
                if (restore != null) {
                    OptimizerStateFile.readShard(OptimizerStateFile.path(dir, comm.rank()), opt);
                    assertThat(opt.steps()).isEqualTo(from);
                }
                for (int s = from; s < to; s++) {
                    localGradients(backend, w.parameters(), comm.rank(), s);
                    Optimizer.Update u = opt.step(backend);
                    assertThat(u.step()).isEqualTo(s + 1);
                }
                if (save) {
                    java.nio.file.Files.createDirectories(OptimizerStateFile.path(dir, 0).getParent());
                    // Pieces of 50 elements: each vector of the shard spans many.
                    OptimizerStateFile.writeShard(OptimizerStateFile.path(dir, comm.rank()), opt, 50);
                }
            }
            return values(backend, w);
        });
    }

    @ParameterizedTest(name = "{0} ranks, saved from {1}, resumed with {2}")
    @CsvSource({"2, NONE, NONE", "3, CPU, CPU", "3, GPU_STREAM, GPU_STREAM", "2, NONE, CPU", "3, GPU_STREAM, NONE"})
    void aRestoredRunContinuesBitForBit(int world, OffloadMode saved, OffloadMode resumed) {
        int k = 2;
        Map<String, double[]> straight = run(world, saved, 0, STEPS, null, false).get(0);
        Map<String, double[]> atK = run(world, saved, 0, k, null, true).get(0);
        List<Map<String, double[]>> resumedRanks = run(world, resumed, k, STEPS, atK, false);
        for (Map<String, double[]> rank : resumedRanks) {
            straight.forEach((name, want) -> assertThat(rank.get(name)).as(name).containsExactly(want));
        }
        // Without the moments a resumed run would differ: the check above could not pass by accident.
        Map<String, double[]> fresh = InProcessRanks.run(world, comm -> {
            Backend backend = new CpuBackend(DType.F32);
            LlamaWeights w = LlamaWeights.initializeFlat(backend, CONFIG, 9, comm.size());
            w.parameters().forEach(p -> backend.uploadDoubles(p.value(), atK.get(p.name())));
            try (ShardedOptimizer opt = optimizer(backend, comm, w, resumed)) {
                opt.restoreSteps(k);
                for (int s = k; s < STEPS; s++) {
                    localGradients(backend, w.parameters(), comm.rank(), s);
                    opt.step(backend);
                }
            }
            return values(backend, w);
        }).get(0);
        assertThat(fresh.get("model.layers.0.mlp.up_proj.weight")).isNotEqualTo(straight.get("model.layers.0.mlp.up_proj.weight"));
    }

    @Test
    void aShardIsReadOnlyIntoTheSameShardOfTheSameLayout() {
        run(2, OffloadMode.NONE, 0, 1, null, true);
        InProcessRanks.run(3, comm -> {
            Backend backend = new CpuBackend(DType.F32);
            LlamaWeights w = LlamaWeights.initializeFlat(backend, CONFIG, 9, comm.size());
            try (ShardedOptimizer opt = optimizer(backend, comm, w, OffloadMode.NONE)) {
                if (comm.rank() < 2) {
                    assertThatThrownBy(() -> OptimizerStateFile.readShard(OptimizerStateFile.path(dir, comm.rank()), opt))
                            .isInstanceOf(InvalidFileException.class).hasMessageContaining("zero_shards 2");
                }
            }
            return null;
        });
        Backend backend = new CpuBackend(DType.F32);
        LlamaWeights replicated = LlamaWeights.initialize(backend, CONFIG, 9);
        try (AdamW adamW = new AdamW(backend, replicated.parameters(), HYPER)) {
            assertThatThrownBy(() -> OptimizerStateFile.read(OptimizerStateFile.path(dir, 0), backend, adamW))
                    .isInstanceOf(InvalidFileException.class).hasMessageContaining("sharded (ZeRO)");
        }
    }
}
