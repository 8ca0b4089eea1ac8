package io.easycontext.runtime.optim.zero;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.backend.cuda.CudaBackend;
import io.easycontext.runtime.comm.Communicator;
import io.easycontext.runtime.comm.NcclCommunicator;
import io.easycontext.runtime.comm.NcclWorld;
import io.easycontext.runtime.cuda.Cuda;
import io.easycontext.runtime.cuda.GpuTest;
import io.easycontext.runtime.cuda.Gpus;
import io.easycontext.runtime.cuda.RelativeError;
import io.easycontext.runtime.model.FlatLayout;
import io.easycontext.runtime.model.FlatParameters;
import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.model.Parameter;
import io.easycontext.runtime.optim.AdamW;
import io.easycontext.runtime.optim.LrSchedule;
import io.easycontext.runtime.optim.Optimizer;
import io.easycontext.runtime.parallel.GradientSync;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The sharded optimizer on GPUs, one rank per GPU (up to four) over NCCL, against the plain {@link Optimizer} after
 * {@link GradientSync#allReduce} on the same GPUs, in every offload mode: every parameter within 1e-2 relative error
 * after three bf16 steps. Then both offload strategies timed against the device-resident state on one GPU with half
 * a billion parameters, the timings printed.
 */
@GpuTest
class ShardedOptimizerGpuTest {

    private static final LlamaConfig MODEL = LlamaConfig.of(256, 704, 2, 4, 2, 1000);
    private static final AdamW.Hyper HYPER = new AdamW.Hyper(0.9, 0.95, 1e-8, 0.1);
    private static final LrSchedule SCHEDULE = LrSchedule.warmupConstant(1e-3, 1);
    private static final int STEPS = 3;

    @FunctionalInterface
    private interface RankBody<T> {
        T run(CudaBackend backend, Communicator world) throws Exception;
    }

    /** {@code body} on GPUs {@code 0 … n-1}, one thread and one NCCL rank each; results in rank order. */
    private static <T> List<T> onGpus(int n, long poolBytes, RankBody<T> body) throws Exception {
        NcclWorld world = NcclWorld.ofLocalGpus(n);
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<T>> ranks = new ArrayList<>();
            for (int r = 0; r < n; r++) {
                int rank = r;
                ranks.add(pool.submit(() -> {
                    try (CudaBackend backend = new CudaBackend(rank, poolBytes);
                         NcclCommunicator comm = world.communicator(rank, backend)) {
                        T result = body.run(backend, comm);
                        backend.synchronize();
                        return result;
                    } catch (Throwable t) {
                        world.abort(t);
                        throw t;
                    }
                }));
            }
            List<T> results = new ArrayList<>();
            for (Future<T> f : ranks) {
                try {
                    results.add(f.get());
                } catch (ExecutionException e) {
                    throw (Exception) e.getCause();
                }
            }
            return results;
        } finally {
            pool.shutdownNow();
        }
    }

    private static void localGradients(Backend backend, List<Parameter> parameters, int rank, int step) {
        for (Parameter p : parameters) {
            SplittableRandom rng = new SplittableRandom(p.name().hashCode() * 31L + rank * 1_000_003L + step * 7919L);
            float[] g = new float[Math.toIntExact(p.grad().numel())];
            for (int i = 0; i < g.length; i++) {
                g[i] = (float) rng.nextDouble(-0.01, 0.01);
            }
            backend.upload(p.grad(), g);
        }
    }

    private static Map<String, double[]> values(Backend backend, List<Parameter> parameters) {
        Map<String, double[]> values = new LinkedHashMap<>();
        parameters.forEach(p -> values.put(p.name(), backend.download(p.value())));
        return values;
    }

    @Test
    void shardedAndOffloadedUpdatesMatchThePlainOptimizer() throws Exception {
        Gpus.assumeGpu();
        int gpus = Math.min(4, Cuda.devices().size());
        Map<String, double[]> initial = onGpus(1, 4L << 30, (backend, world) ->
                values(backend, LlamaWeights.initialize(backend, MODEL, 7).parameters())).get(0);
        Map<String, double[]> want = onGpus(gpus, 4L << 30, (backend, world) -> {
            LlamaWeights w = LlamaWeights.initialize(backend, MODEL, 7);
            try (Optimizer opt = new Optimizer(backend, w.parameters(), HYPER, SCHEDULE, 1.0)) {
                for (int s = 0; s < STEPS; s++) {
                    localGradients(backend, w.parameters(), world.rank(), s);
                    GradientSync.allReduce(world, w.parameters());
                    opt.step(backend);
                }
            }
            Map<String, double[]> v = values(backend, w.parameters());
            w.close();
            return v;
        }).get(0);
        for (OffloadMode offload : OffloadMode.values()) {
            List<Map<String, double[]>> got = onGpus(gpus, 4L << 30, (backend, world) -> {
                LlamaWeights w = LlamaWeights.initializeFlat(backend, MODEL, 7, world.size());
                // Chunks of 64K elements: several per shard, so the ring of staging slots wraps.
                try (ShardedOptimizer opt = new ShardedOptimizer(backend, world, w.flat().orElseThrow(),
                        w.parameters(), HYPER, SCHEDULE, 1.0, offload, 1 << 16)) {
                    for (int s = 0; s < STEPS; s++) {
                        localGradients(backend, w.parameters(), world.rank(), s);
                        opt.step(backend);
                    }
                }
                Map<String, double[]> v = values(backend, w.parameters());
                w.close();
                return v;
            });
            double worst = 0;
            for (int r = 0; r < got.size(); r++) {
                for (Map.Entry<String, double[]> e : want.entrySet()) {
                    double error = RelativeError.of(got.get(r).get(e.getKey()), e.getValue());
                    assertThat(error).as("%s, offload %s, rank %d of %d", e.getKey(), offload, r, gpus)
                            .isLessThanOrEqualTo(1e-2);
                    worst = Math.max(worst, error);
                }
            }
            System.out.printf(Locale.ROOT, "sharded optimizer on %d GPU(s), offload %-10s largest relative error %.2e%n",
                    gpus, offload.flag(), worst);
        }
        String matrix = "model.layers.1.mlp.up_proj.weight";
        assertThat(RelativeError.of(want.get(matrix), initial.get(matrix))).as("the updates moved the weights")
                .isGreaterThan(1e-2);
    }

    /** 32 matrices of 4096 × 4096: 537M parameters, 6 GiB of fp32 master weights and moments. */
    @Test
    void timesBothOffloadStrategiesAgainstTheDeviceResidentState() throws Exception {
        Gpus.assumeGpu();
        Map<String, int[]> shapes = new LinkedHashMap<>();
        for (int i = 0; i < 32; i++) {
            shapes.put("layer" + i + ".weight", new int[]{4096, 4096});
        }
        FlatLayout layout = FlatLayout.of(shapes, 1);
        long params = layout.used();
        onGpus(1, 20L << 30, (backend, world) -> {
            try (FlatParameters flat = FlatParameters.allocate(backend, layout)) {
                for (Parameter p : flat.parameters()) {
                    backend.fill(p.value(), 0.01);
                }
                for (OffloadMode offload : OffloadMode.values()) {
                    try (ShardedOptimizer opt = new ShardedOptimizer(backend, world, flat, flat.parameters(), HYPER,
                            SCHEDULE, 1.0, offload)) {
                        int warmUp = 1;
                        int timed = 3;
                        long start = 0;
                        for (int s = 0; s < warmUp + timed; s++) {
                            if (s == warmUp) {
                                backend.synchronize();
                                start = System.nanoTime();
                            }
                            for (Parameter p : flat.parameters()) {
                                backend.fill(p.grad(), 1e-3);
                            }
                            opt.step(backend);
                        }
                        backend.synchronize();
                        double ms = (System.nanoTime() - start) / 1e6 / timed;
                        // The state crosses the link twice per step where it is offloaded: 12 bytes a parameter each way.
                        double linkGBs = offload == OffloadMode.GPU_STREAM ? 24.0 * params / (ms * 1e6) : Double.NaN;
                        System.out.printf(Locale.ROOT, "sharded optimizer, %,d parameters, offload %-10s %9.1f ms/step"
                                + "%s%n", params, offload.flag(), ms,
                                Double.isNaN(linkGBs) ? "" : String.format(Locale.ROOT, " (%.1f GB/s of state over the link)", linkGBs));
                        double[] first = backend.download(flat.parameters().get(0).value());
                        assertThat(first[0]).as("offload %s", offload).isFinite().isLessThan(0.01);
                    }
                }
            }
            return null;
        });
    }
}
