package io.easycontext.runtime.parallel;

import io.easycontext.runtime.backend.AttentionMask;
import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.backend.cpu.CpuBackend;
import io.easycontext.runtime.comm.Communicator;
import io.easycontext.runtime.comm.InProcessRanks;
import io.easycontext.runtime.model.AttentionState;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every mode's distributed attention against single-device causal attention over the whole sequence: the forward
 * output and dq, dk, dv at every token, with grouped-query attention (8 query heads, 4 kv heads).
 */
class SequenceParallelAttentionTest {

    private static final int B = 2;
    private static final int T = 48;
    private static final int HQ = 8;
    private static final int HKV = 4;
    private static final int D = 4;
    private static final double SCALE = 0.7;

    record Case(ParallelMode mode, int world, int dp, int ulysses, int ring, int seq) {
        Case(ParallelMode mode, int world, int dp, int ulysses, int ring) {
            this(mode, world, dp, ulysses, ring, T);
        }

        ParallelConfig config() {
            return ParallelConfig.resolve(mode, world, dp, ulysses, ring);
        }

        @Override
        public String toString() {
            return config() + (seq == T ? "" : ", " + seq + " tokens");
        }
    }

    static Stream<Case> cases() {
        Stream.Builder<Case> all = Stream.builder();
        for (int w : new int[] {1, 2, 4}) {
            all.add(new Case(ParallelMode.DATA_PARALLEL, w, 0, 0, 0));
        }
        for (ParallelMode m : List.of(ParallelMode.RING_ATTN, ParallelMode.ZIGZAG_RING_ATTN, ParallelMode.DIST_FLASH_ATTN)) {
            for (int w : new int[] {1, 2, 3, 4, 6, 8}) {
                all.add(new Case(m, w, 0, 0, 0));
            }
            all.add(new Case(m, 4, 2, 0, 0));
        }
        // Local chunks of odd length, which dist_flash_attn's last step cannot split by query rows.
        all.add(new Case(ParallelMode.DIST_FLASH_ATTN, 2, 0, 0, 0, 50));
        all.add(new Case(ParallelMode.DIST_FLASH_ATTN, 4, 0, 0, 0, 52));
        for (int w : new int[] {1, 2, 4}) {
            all.add(new Case(ParallelMode.ULYSSES_ATTN, w, 0, 0, 0));
        }
        all.add(new Case(ParallelMode.ULYSSES_ATTN, 4, 2, 0, 0));
        all.add(new Case(ParallelMode.USP_ATTN, 4, 0, 2, 2));
        all.add(new Case(ParallelMode.USP_ATTN, 2, 0, 1, 2));
        all.add(new Case(ParallelMode.USP_ATTN, 2, 0, 2, 1));
        all.add(new Case(ParallelMode.USP_ATTN, 8, 0, 4, 2));
        all.add(new Case(ParallelMode.USP_ATTN, 8, 0, 2, 4));
        all.add(new Case(ParallelMode.USP_ATTN, 8, 2, 2, 2));
        return all.build();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesSingleDeviceCausalAttentionF64(Case c) {
        check(c, new CpuBackend(DType.F64), 1e-12);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesSingleDeviceCausalAttentionF32(Case c) {
        check(c, new CpuBackend(DType.F32), 2e-6);
    }

    /** The ring modes read a transferred block only after awaiting it, and never overwrite one in flight. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesSingleDeviceWhenTransfersCompleteOnlyOnceAwaited(Case c) {
        check(c, new CpuBackend(DType.F64), 1e-12, DeferredTransfers::new);
    }

    static Stream<Case> ringCases() {
        return cases().filter(c -> c.config().mode() == ParallelMode.RING_ATTN
                || c.config().mode() == ParallelMode.ZIGZAG_RING_ATTN || c.config().mode() == ParallelMode.USP_ATTN);
    }

    /** Merged ring blocks ({@code -Deasycontext.ring.blocks=merged}): the same results, transfers deferred or not. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("ringCases")
    void mergedRingBlocksMatchSingleDevice(Case c) {
        RingBlocks.with("merged", () -> {
            check(c, new CpuBackend(DType.F64), 1e-12, DeferredTransfers::new);
            check(c, new CpuBackend(DType.F32), 2e-6);
        });
    }

    private static void check(Case c, Backend backend, double tolerance) {
        check(c, backend, tolerance, comm -> comm);
    }

    private static void check(Case c, Backend backend, double tolerance,
                              java.util.function.UnaryOperator<Communicator> transport) {
        ParallelConfig config = c.config();
        int seq = c.seq();
        config.validate(seq, HQ, HKV);
        Random random = new Random(42);
        double[] q = random(random, B * seq * HQ * D);
        double[] k = random(random, B * seq * HKV * D);
        double[] v = random(random, B * seq * HKV * D);
        double[] dOut = random(random, B * seq * HQ * D);

        Tensor qt = tensor(backend, q, B, seq, HQ, D);
        Tensor kt = tensor(backend, k, B, seq, HKV, D);
        Tensor vt = tensor(backend, v, B, seq, HKV, D);
        Tensor out = backend.allocate(backend.floatType(), B, seq, HQ, D);
        Tensor lse = backend.allocate(backend.statsType(), B, HQ, seq);
        backend.attentionForward(qt, kt, vt, AttentionMask.CAUSAL_DIAGONAL, SCALE, out, lse);
        Tensor dq = backend.allocate(backend.floatType(), B, seq, HQ, D);
        Tensor dk = backend.allocate(backend.floatType(), B, seq, HKV, D);
        Tensor dv = backend.allocate(backend.floatType(), B, seq, HKV, D);
        backend.attentionBackward(tensor(backend, dOut, B, seq, HQ, D), out, lse, qt, kt, vt,
                AttentionMask.CAUSAL_DIAGONAL, SCALE, dq, dk, dv);
        double[][] expected = {backend.download(out), backend.download(dq), backend.download(dk), backend.download(dv)};

        List<double[][]> ranks = InProcessRanks.run(config.worldSize(), Duration.ofSeconds(60), comm -> {
            ParallelRank rank = ParallelRank.create(transport.apply(comm), config, seq);
            int[] positions = rank.positionIds(1);
            int t = positions.length;
            Tensor lq = tensor(backend, take(q, seq, positions, HQ), B, t, HQ, D);
            Tensor lk = tensor(backend, take(k, seq, positions, HKV), B, t, HKV, D);
            Tensor lv = tensor(backend, take(v, seq, positions, HKV), B, t, HKV, D);
            Tensor lOut = backend.allocate(backend.floatType(), B, t, HQ, D);
            Tensor ldq = backend.allocate(backend.floatType(), B, t, HQ, D);
            Tensor ldk = backend.allocate(backend.floatType(), B, t, HKV, D);
            Tensor ldv = backend.allocate(backend.floatType(), B, t, HKV, D);
            try (AttentionState state = rank.attention().forward(backend, lq, lk, lv, SCALE, lOut)) {
                rank.attention().backward(backend, state, tensor(backend, take(dOut, seq, positions, HQ), B, t, HQ, D),
                        ldq, ldk, ldv);
            }
            return new double[][] {backend.download(lOut), backend.download(ldq), backend.download(ldk),
                    backend.download(ldv), toDoubles(positions)};
        });

        String[] names = {"out", "dq", "dk", "dv"};
        int[] heads = {HQ, HQ, HKV, HKV};
        for (int r = 0; r < ranks.size(); r++) {
            double[][] got = ranks.get(r);
            int[] positions = toInts(got[4]);
            for (int x = 0; x < 4; x++) {
                double[] want = take(expected[x], seq, positions, heads[x]);
                assertClose(got[x], want, tolerance, config + " rank " + r + " " + names[x]);
            }
        }
    }

    /** Rows {@code positions} of every sequence of a {@code [B, seq, heads, D]} array. */
    private static double[] take(double[] global, int seq, int[] positions, int heads) {
        int row = heads * D;
        double[] local = new double[B * positions.length * row];
        for (int b = 0; b < B; b++) {
            for (int i = 0; i < positions.length; i++) {
                System.arraycopy(global, (b * seq + positions[i]) * row, local, (b * positions.length + i) * row, row);
            }
        }
        return local;
    }

    static void assertClose(double[] got, double[] want, double tolerance, String what) {
        assertThat(got).hasSameSizeAs(want);
        double scale = 0;
        for (double w : want) {
            scale = Math.max(scale, Math.abs(w));
        }
        for (int i = 0; i < got.length; i++) {
            double err = Math.abs(got[i] - want[i]);
            // Written so that a NaN fails too: every comparison with NaN is false.
            if (!(err <= tolerance * Math.max(scale, 1e-30))) {
                throw new AssertionError(what + "[" + i + "] = " + got[i] + " but expected " + want[i]
                        + " (relative to max |x| " + scale + ": " + err / scale + " > " + tolerance + ")");
            }
        }
    }

    private static double[] random(Random random, int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = random.nextGaussian();
        }
        return v;
    }

    private static Tensor tensor(Backend backend, double[] values, int... shape) {
        Tensor t = backend.allocate(backend.floatType(), shape);
        float[] f = new float[values.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) values[i];
        }
        backend.upload(t, f);
        return t;
    }

    private static double[] toDoubles(int[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return d;
    }

    private static int[] toInts(double[] v) {
        int[] d = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = (int) v[i];
        }
        return d;
    }
}
