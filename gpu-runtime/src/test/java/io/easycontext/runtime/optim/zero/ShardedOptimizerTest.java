package io.easycontext.runtime.optim.zero;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.backend.cpu.CpuBackend;
import io.easycontext.runtime.comm.Communicator;
import io.easycontext.runtime.comm.InProcessRanks;
import io.easycontext.runtime.model.FlatLayout;
import io.easycontext.runtime.model.FlatParameters;
import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.model.Parameter;
import io.easycontext.runtime.model.TinyModels;
import io.easycontext.runtime.optim.AdamW;
import io.easycontext.runtime.optim.LrSchedule;
import io.easycontext.runtime.optim.Optimizer;
import io.easycontext.runtime.parallel.GradientSync;
import io.easycontext.runtime.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * The sharded optimizer against the replicated one ({@link GradientSync#allReduce} then {@link Optimizer}) on
 * 1 to 4 in-process ranks, from the same weights and the same per-rank local gradients, for several steps with a
 * warm-up and decay schedule and weight decay (so the pieces where a shard cuts a matrix from a norm gain matter).
 *
 * <p>Tolerance: without clipping every weight is bit-identical (the gradients are reduced in rank order and
 * rounded once either way, and AdamW is elementwise). With clipping the norm is summed per shard instead of per
 * parameter, which moves it by about 1e-16 relative; that can tip a rounding of the clipped gradient, moment or
 * weight by one ulp of its type, so weights are compared within 2e-7 (float32: one ulp below 2) and 1e-15
 * (float64: a few ulps at 1).
 */
class ShardedOptimizerTest {

    private static final LlamaConfig CONFIG = TinyModels.GRADIENT_CHECK;
    private static final long SEED = 5;
    private static final int STEPS = 5;
    private static final AdamW.Hyper HYPER = new AdamW.Hyper(0.9, 0.95, 1e-8, 0.1);
    private static final LrSchedule SCHEDULE = LrSchedule.warmupCosine(3e-2, 2, STEPS, 0.1);
    /** Not a multiple of the alignment: chunk boundaries fall inside parameters, and the ring wraps several times. */
    private static final int CHUNK = 100;

    /** What every rank ends with: its weights by name, and each step's update. */
    record Run(Map<String, double[]> weights, List<Optimizer.Update> updates) {
    }

    /** Rank {@code rank}'s own gradient of step {@code step}: distinct per rank, step and parameter. */
    static void localGradients(Backend backend, List<Parameter> parameters, int rank, int step) {
        for (Parameter p : parameters) {
            SplittableRandom rng = new SplittableRandom(p.name().hashCode() * 31L + rank * 1_000_003L + step * 7919L);
            double[] g = new double[Math.toIntExact(p.grad().numel())];
            for (int i = 0; i < g.length; i++) {
                g[i] = rng.nextDouble(-0.5, 0.5);
            }
            backend.uploadDoubles(p.grad(), g);
        }
    }

    static Map<String, double[]> values(Backend backend, List<Parameter> parameters) {
        Map<String, double[]> values = new LinkedHashMap<>();
        parameters.forEach(p -> values.put(p.name(), backend.download(p.value())));
        return values;
    }

    static List<Run> replicated(DType dtype, int world, double maxGradNorm) {
        return InProcessRanks.run(world, comm -> {
            Backend backend = new CpuBackend(dtype);
            LlamaWeights w = LlamaWeights.initialize(backend, CONFIG, SEED);
            List<Optimizer.Update> updates = new ArrayList<>();
            try (Optimizer opt = new Optimizer(backend, w.parameters(), HYPER, SCHEDULE, maxGradNorm)) {
                for (int s = 0; s < STEPS; s++) {
                    localGradients(backend, w.parameters(), comm.rank(), s);
                    GradientSync.allReduce(comm, w.parameters());
                    updates.add(opt.step(backend));
                }
            }
            return new Run(values(backend, w.parameters()), updates);
        });
    }

    static ShardedOptimizer sharded(Backend backend, Communicator comm, LlamaWeights w, double maxGradNorm,
                                    OffloadMode offload) {
        return new ShardedOptimizer(backend, comm, w.flat().orElseThrow(), w.parameters(), HYPER, SCHEDULE,
                maxGradNorm, offload, CHUNK);
    }

    static List<Run> sharded(DType dtype, int world, double maxGradNorm, OffloadMode offload) {
        return InProcessRanks.run(world, comm -> {
            Backend backend = new CpuBackend(dtype);
            LlamaWeights w = LlamaWeights.initializeFlat(backend, CONFIG, SEED, comm.size());
            List<Optimizer.Update> updates = new ArrayList<>();
            try (ShardedOptimizer opt = sharded(backend, comm, w, maxGradNorm, offload)) {
                for (int s = 0; s < STEPS; s++) {
                    localGradients(backend, w.parameters(), comm.rank(), s);
                    updates.add(opt.step(backend));
                    assertThat(backend.sumOfSquares(w.flat().orElseThrow().grads())).as("gradients zeroed").isZero();
                }
            }
            return new Run(values(backend, w.parameters()), updates);
        });
    }

    static Stream<Arguments> cases() {
        return cases(1, 2, 3, 4);
    }

    /** Every precision × these world sizes × every offload. */
    static Stream<Arguments> cases(int... worlds) {
        List<Arguments> all = new ArrayList<>();
        for (DType dtype : List.of(DType.F32, DType.F64)) {
            for (int world : worlds) {
                for (OffloadMode offload : OffloadMode.values()) {
                    all.add(Arguments.of(dtype, world, offload));
                }
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0} on {1} ranks, offload {2}")
    @MethodSource("cases")
    void withClippingEveryRankEndsWithTheReplicatedWeights(DType dtype, int world, OffloadMode offload) {
        double maxGradNorm = 1.0; // the random gradients' norm is near 10: every step clips
        Run want = replicated(dtype, world, maxGradNorm).get(0);
        List<Run> got = sharded(dtype, world, maxGradNorm, offload);
        double tolerance = dtype == DType.F32 ? 2e-7 : 1e-15;
        Map<String, double[]> initial = initialWeights(dtype);
        for (Run rank : got) {
            for (int s = 0; s < STEPS; s++) {
                Optimizer.Update u = rank.updates().get(s);
                Optimizer.Update r = want.updates().get(s);
                assertThat(u.step()).isEqualTo(r.step());
                assertThat(u.lr()).isEqualTo(r.lr());
                assertThat(u.gradNorm()).isCloseTo(r.gradNorm(), within(1e-13 * r.gradNorm()));
                assertThat(u.clipCoefficient()).isLessThan(0.5).isCloseTo(r.clipCoefficient(), within(1e-14));
            }
            want.weights().forEach((name, values) -> {
                assertThat(rank.weights().get(name)).as(name).containsExactly(values, within(tolerance));
                assertThat(maxDifference(values, initial.get(name))).as("%s moved", name).isGreaterThan(1e-3);
            });
        }
    }

    @ParameterizedTest(name = "{0} on {1} ranks, offload {2}")
    @MethodSource("cases")
    void withoutClippingEveryRankEndsWithTheReplicatedWeightsBitForBit(DType dtype, int world, OffloadMode offload) {
        Run want = replicated(dtype, world, 0).get(0);
        for (Run rank : sharded(dtype, world, 0, offload)) {
            want.weights().forEach((name, values) -> assertThat(rank.weights().get(name)).as(name).containsExactly(values));
            assertThat(rank.updates().get(STEPS - 1).clipCoefficient()).isEqualTo(1);
        }
    }

    private static Map<String, double[]> initialWeights(DType dtype) {
        Backend backend = new CpuBackend(dtype);
        return values(backend, LlamaWeights.initialize(backend, CONFIG, SEED).parameters());
    }

    private static double maxDifference(double[] a, double[] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }

    /** The cases above only test what they claim if shards cut parameters and the world leaves padding. */
    @Test
    void threeShardsCutParametersAndPadTheBuffer() {
        FlatLayout layout = FlatLayout.of(LlamaWeights.layout(CONFIG), 3);
        assertThat(layout.used() % 3).as("the parameters do not divide by three").isNotZero();
        assertThat(layout.size()).isGreaterThan(layout.used());
        for (int r = 1; r < 3; r++) {
            long cut = layout.shardStart(r);
            assertThat(layout.spans()).as("a parameter across the start of shard %d", r)
                    .anyMatch(s -> s.offset() < cut && cut < s.end());
        }
        List<ShardPiece> pieces = ShardPiece.of(layout, 1, LlamaWeights.initializeFlat(new CpuBackend(DType.F64),
                CONFIG, SEED, 3).parameters());
        assertThat(pieces).anyMatch(ShardPiece::decays).anyMatch(p -> !p.decays());
    }

    @Test
    void aNonFiniteGradientOnOneRankStopsEveryRankBeforeAnyWeightChanges() {
        for (OffloadMode offload : OffloadMode.values()) {
            List<Boolean> unchanged = InProcessRanks.run(3, comm -> {
                Backend backend = new CpuBackend(DType.F32);
                LlamaWeights w = LlamaWeights.initializeFlat(backend, CONFIG, SEED, comm.size());
                Map<String, double[]> before = values(backend, w.parameters());
                try (ShardedOptimizer opt = sharded(backend, comm, w, 1.0, offload)) {
                    localGradients(backend, w.parameters(), comm.rank(), 0);
                    if (comm.rank() == 2) {
                        backend.uploadDoubles(w.norm().grad(), new double[CONFIG.hiddenSize()]);
                        double[] g = backend.download(w.norm().grad());
                        g[3] = Double.POSITIVE_INFINITY;
                        backend.uploadDoubles(w.norm().grad(), g);
                    }
                    assertThatThrownBy(() -> opt.step(backend)).isInstanceOf(ArithmeticException.class)
                            .hasMessageContaining("Infinity at step 1");
                    assertThat(opt.steps()).isZero();
                }
                Map<String, double[]> after = values(backend, w.parameters());
                return before.keySet().stream().allMatch(n -> java.util.Arrays.equals(before.get(n), after.get(n)));
            });
            assertThat(unchanged).as("offload %s", offload).containsOnly(true);
        }
    }

    @Test
    void gapsAndPaddingStayZero() {
        InProcessRanks.run(3, comm -> {
            Backend backend = new CpuBackend(DType.F32);
            LlamaWeights w = LlamaWeights.initializeFlat(backend, CONFIG, SEED, comm.size());
            FlatParameters flat = w.flat().orElseThrow();
            try (ShardedOptimizer opt = sharded(backend, comm, w, 1.0, OffloadMode.CPU)) {
                for (int s = 0; s < 2; s++) {
                    localGradients(backend, w.parameters(), comm.rank(), s);
                    opt.step(backend);
                }
            }
            double[] all = backend.download(flat.values());
            boolean[] covered = new boolean[all.length];
            for (FlatLayout.Span s : flat.layout().spans()) {
                for (long i = s.offset(); i < s.end(); i++) {
                    covered[(int) i] = true;
                }
            }
            for (int i = 0; i < all.length; i++) {
                if (!covered[i]) {
                    assertThat(all[i]).as("element %d outside every parameter", i).isZero();
                }
            }
            return null;
        });
    }

    @Test
    void aLayoutOfAnotherShardCountIsRefused() {
        InProcessRanks.run(2, comm -> {
            Backend backend = new CpuBackend(DType.F32);
            LlamaWeights w = LlamaWeights.initializeFlat(backend, CONFIG, SEED, 3);
            assertThatThrownBy(() -> sharded(backend, comm, w, 1.0, OffloadMode.NONE))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("3 shards but the world 2 ranks");
            return null;
        });
    }
}
