package io.easycontext.runtime.comm;

import io.easycontext.runtime.backend.cuda.CudaBackend;
import io.easycontext.runtime.cuda.Cuda;
import io.easycontext.runtime.cuda.GpuTest;
import io.easycontext.runtime.cuda.Gpus;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tensor.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.BiConsumer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every collective of the NCCL communicator on all GPUs of the node, one thread per GPU, against values computed
 * on the host. Inputs are distinct per rank and element (exact in fp32 and bf16), so a value from the wrong rank
 * or position shows.
 */
@GpuTest
class NcclCommunicatorGpuTest {

    /** Value of element {@code i} on rank {@code r}: small integers, exact in bf16. */
    private static float value(int r, int i) {
        return (r + 1) * 3 + (i % 17) - 8;
    }

    private static float[] values(int r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = value(r, i);
        }
        return v;
    }

    private static void onEveryGpu(BiConsumer<CudaBackend, NcclCommunicator> body) throws Exception {
        Gpus.assumeGpu();
        int gpus = Cuda.devices().size();
        Assumptions.assumeTrue(gpus >= 2, "needs 2 or more GPUs, this node has " + gpus);
        NcclWorld world = NcclWorld.ofLocalGpus(gpus);
        ExecutorService pool = Executors.newFixedThreadPool(gpus);
        try {
            List<Future<?>> ranks = new ArrayList<>();
            for (int r = 0; r < gpus; r++) {
                int rank = r;
                ranks.add(pool.submit(() -> {
                    try (CudaBackend backend = new CudaBackend(rank, 1L << 30);
                         NcclCommunicator comm = world.communicator(rank, backend)) {
                        assertThat(comm.rank()).isEqualTo(rank);
                        assertThat(comm.size()).isEqualTo(gpus);
                        body.accept(backend, comm);
                        backend.synchronize();
                    }
                    return null;
                }));
            }
            for (Future<?> f : ranks) {
                try {
                    f.get();
                } catch (ExecutionException e) {
                    throw (Exception) e.getCause();
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private static Tensor upload(CudaBackend b, DType type, float[] v, int... shape) {
        Tensor t = b.allocate(type, shape);
        b.upload(t, v);
        return t;
    }

    @Test
    void allReduceSumsAndMaxesAcrossRanksAndHostValuesToo() throws Exception {
        onEveryGpu((b, comm) -> {
            int n = 1001;
            int w = comm.size();
            for (DType type : new DType[]{DType.BF16, DType.F32}) {
                Tensor t = upload(b, type, values(comm.rank(), n), n);
                comm.allReduce(t, ReduceOp.SUM);
                double[] got = b.download(t);
                for (int i = 0; i < n; i++) {
                    double want = 0;
                    for (int r = 0; r < w; r++) {
                        want += value(r, i);
                    }
                    assertThat(got[i]).as("%s element %d", type, i).isEqualTo(want);
                }
                Tensor m = upload(b, type, values(comm.rank(), n), n);
                comm.allReduce(m, ReduceOp.MAX);
                assertThat(b.download(m)[5]).isEqualTo(value(w - 1, 5));
            }
            double[] host = comm.allReduce(new double[]{comm.rank() + 0.5, 1e-300}, ReduceOp.SUM);
            assertThat(host[0]).isEqualTo(w * (w - 1) / 2.0 + 0.5 * w);
            assertThat(host[1]).isEqualTo(w * 1e-300);
            comm.barrier();
        });
    }

    @Test
    void allGatherReduceScatterAndBroadcast() throws Exception {
        onEveryGpu((b, comm) -> {
            int n = 300;
            int w = comm.size();
            Tensor send = upload(b, DType.BF16, values(comm.rank(), n), n);
            Tensor all = b.allocate(DType.BF16, w * n);
            comm.allGather(send, all);
            double[] g = b.download(all);
            for (int r = 0; r < w; r++) {
                assertThat(g[r * n + 7]).isEqualTo(value(r, 7));
            }
            Tensor big = upload(b, DType.F32, values(comm.rank(), w * n), w * n);
            Tensor part = b.allocate(DType.F32, n);
            comm.reduceScatter(big, part, ReduceOp.SUM);
            double[] p = b.download(part);
            for (int i = 0; i < n; i++) {
                double want = 0;
                for (int r = 0; r < w; r++) {
                    want += value(r, comm.rank() * n + i);
                }
                assertThat(p[i]).isEqualTo(want);
            }
            Tensor t = upload(b, DType.BF16, values(comm.rank(), n), n);
            comm.broadcast(t, w - 1);
            assertThat(b.download(t)[11]).isEqualTo(value(w - 1, 11));
        });
    }

    /**
     * Two asynchronous gathers in flight at once, as ZeRO-3 prefetches the next unit, of fresh random values (so that
     * stale memory from an earlier run cannot pass): each send buffer is written by compute queued just before its
     * gather starts, a collective runs between, and each result is read only by compute queued after its
     * {@link Communicator.Pending#await()} (awaiting twice does nothing more). Every rank then holds every rank's
     * values in rank order, and the sentinel each receive buffer was filled with is gone.
     */
    @Test
    void anAsynchronousGatherSendsWhatComputeWroteAndArrivesWhenAwaited() throws Exception {
        long seed = new SplittableRandom().nextLong();
        int n = (1 << 20) + 3;
        onEveryGpu((b, comm) -> {
            int w = comm.size();
            int r = comm.rank();
            Tensor firstSend = written(b, random(seed, r, 0, n));
            Tensor first = b.allocate(DType.F32, w * n);
            b.fill(first, SENTINEL);
            Communicator.Pending a = comm.allGatherAsync(firstSend, first);
            Tensor secondSend = written(b, random(seed, r, 1, n));
            Tensor second = b.allocate(DType.F32, w * n);
            b.fill(second, SENTINEL);
            Communicator.Pending c = comm.allGatherAsync(secondSend, second);
            double sum = comm.allReduce(r + 1.0, ReduceOp.SUM);
            assertThat(sum).isEqualTo(w * (w + 1) / 2.0);
            a.await();
            a.await();
            Tensor firstRead = b.allocate(DType.F32, w * n);
            b.copy(first, firstRead);
            c.await();
            Tensor secondRead = b.allocate(DType.F32, w * n);
            b.copy(second, secondRead);
            double[] gotFirst = b.download(firstRead);
            double[] gotSecond = b.download(secondRead);
            for (int k = 0; k < w; k++) {
                float[] wantFirst = random(seed, k, 0, n);
                float[] wantSecond = random(seed, k, 1, n);
                for (int i = 0; i < n; i++) {
                    if (gotFirst[k * n + i] != wantFirst[i] || gotSecond[k * n + i] != wantSecond[i]) {
                        throw new AssertionError(String.format("rank %d: element %d of rank %d's part is %s and %s, "
                                        + "want %s and %s", r, i, k, gotFirst[k * n + i], gotSecond[k * n + i],
                                wantFirst[i], wantSecond[i]));
                    }
                }
            }
        });
    }

    /** Outside the values {@link #random} draws: a receive buffer the gather did not write keeps it. */
    private static final float SENTINEL = -7;

    /** Rank {@code r}'s {@code which}-th values of a run: random in (-1, 1), none zero, distinct per rank. */
    private static float[] random(long seed, int r, int which, int n) {
        SplittableRandom rng = new SplittableRandom(seed + 1_000_003L * r + 7919L * which);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            float x = (float) rng.nextDouble(-1, 1);
            v[i] = x == 0 ? 0.5f : x;
        }
        return v;
    }

    /** A new tensor that holds {@code v} once the compute queued so far has run: written by a device copy. */
    private static Tensor written(CudaBackend b, float[] v) {
        Tensor staged = upload(b, DType.F32, v, v.length);
        Tensor t = b.allocate(DType.F32, v.length);
        b.fill(t, 0);
        b.copy(staged, t);
        return t;
    }

    @Test
    void ringSendRecvAndUlyssesAllToAll() throws Exception {
        onEveryGpu((b, comm) -> {
            int w = comm.size();
            int r = comm.rank();
            int n = 513;
            Tensor mine = upload(b, DType.BF16, values(r, n), n);
            Tensor fromPrev = b.allocate(DType.BF16, n);
            comm.sendRecv(List.of(P2POp.send(mine, (r + 1) % w), P2POp.recv(fromPrev, (r - 1 + w) % w)));
            assertThat(b.download(fromPrev)[100]).isEqualTo(value((r - 1 + w) % w, 100));

            // [b, t/W, h, d] → [b, t, h/W, d]: rank r keeps heads r·h/W.., receives every rank's tokens in order.
            int batch = 2, tLocal = 3, heads = 2 * w, d = 4;
            float[] v = new float[batch * tLocal * heads * d];
            for (int i = 0; i < v.length; i++) {
                v[i] = r * 1000 + i;
            }
            Tensor seq = upload(b, DType.F32, v, batch, tLocal, heads, d);
            Tensor byHead = b.allocate(DType.F32, batch, tLocal * w, heads / w, d);
            comm.allToAll(seq, byHead, 2, 1);
            double[] got = b.download(byHead);
            int hl = heads / w;
            for (int bi = 0; bi < batch; bi++) {
                for (int t = 0; t < tLocal * w; t++) {
                    for (int h = 0; h < hl; h++) {
                        for (int x = 0; x < d; x++) {
                            int src = t / tLocal;
                            int srcIndex = ((bi * tLocal + t % tLocal) * heads + r * hl + h) * d + x;
                            assertThat(got[((bi * tLocal * w + t) * hl + h) * d + x]).isEqualTo(src * 1000 + srcIndex);
                        }
                    }
                }
            }
            // And back.
            Tensor again = b.allocate(DType.F32, batch, tLocal, heads, d);
            comm.allToAll(byHead, again, 1, 2);
            assertThat(b.download(again)).containsExactly(b.download(seq));
        });
    }

    @Test
    void splitMakesSubGroups() throws Exception {
        onEveryGpu((b, comm) -> {
            try (Communicator half = comm.split(comm.rank() % 2, comm.rank())) {
                Tensor t = upload(b, DType.F32, new float[]{comm.rank()}, 1);
                half.allReduce(t, ReduceOp.SUM);
                double want = 0;
                for (int r = comm.rank() % 2; r < comm.size(); r += 2) {
                    want += r;
                }
                assertThat(b.download(t)[0]).isEqualTo(want);
            }
        });
    }

    /**
     * Two "processes" (threads here) join one world through a unique id, each with its GPU as one rank, as nodes
     * of a multi-node run do; the world then reduces like one from {@code ncclCommInitAll}.
     */
    @Test
    void aWorldJoinedByUniqueIdReducesAcrossItsParts() throws Exception {
        Gpus.assumeGpu();
        int gpus = Cuda.devices().size();
        Assumptions.assumeTrue(gpus >= 2, "needs 2 or more GPUs, this node has " + gpus);
        byte[] id = NcclWorld.newUniqueId();
        ExecutorService pool = Executors.newFixedThreadPool(gpus);
        try {
            List<Future<double[]>> parts = new ArrayList<>();
            for (int r = 0; r < gpus; r++) {
                int rank = r;
                parts.add(pool.submit(() -> {
                    NcclWorld part = NcclWorld.ofUniqueId(id, gpus, rank, List.of(rank));
                    try (CudaBackend backend = new CudaBackend(rank, 1L << 30);
                         NcclCommunicator comm = part.communicator(0, backend)) {
                        assertThat(comm.rank()).isEqualTo(rank);
                        assertThat(comm.size()).isEqualTo(gpus);
                        Tensor t = upload(backend, DType.F32, values(rank, 64), 64);
                        comm.allReduce(t, ReduceOp.SUM);
                        return backend.download(t);
                    }
                }));
            }
            for (Future<double[]> f : parts) {
                double[] got = f.get();
                for (int i = 0; i < 64; i++) {
                    double want = 0;
                    for (int r = 0; r < gpus; r++) {
                        want += value(r, i);
                    }
                    assertThat(got[i]).isEqualTo(want);
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
