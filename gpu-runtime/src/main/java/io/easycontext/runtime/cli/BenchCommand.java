package io.easycontext.runtime.cli;

import io.easycontext.runtime.backend.AttentionMask;
import io.easycontext.runtime.backend.cuda.CudaBackend;
import io.easycontext.runtime.cuda.Cuda;
import io.easycontext.runtime.cuda.CudaEvent;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tensor.Tensor;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * GPU benchmarks, one JSON object per measurement on stdout, with the FLOP conventions of the PyTorch peer
 * ({@code bench/torch_peer.py}) so the two can stand side by side: causal attention forward = 2·S²·H·D,
 * backward = 2.5 × forward; times are medians of event-timed repeats after warm-up, on random inputs.
 */
public final class BenchCommand implements Command {

    @Override
    public String name() {
        return "bench";
    }

    @Override
    public String summary() {
        return "GPU benchmarks: --what gemm | attention (see --help of each in the docs)";
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) {
        Flags flags = new Flags(args);
        String what = flags.required("what");
        int iters = flags.integer("iters", 10);
        int gpu = flags.integer("gpu", 0);
        switch (what) {
            case "gemm" -> {
                int n = flags.integer("n", 8192);
                flags.finish();
                try (CudaBackend backend = backend(gpu, 3L * n * n * 2 + (256L << 20))) {
                    gemm(backend, n, iters, out);
                }
            }
            case "attention" -> {
                int[] seqs = ints(flags.string("seq", "4096,16384,65536"));
                int heads = flags.integer("heads", 32);
                int[] kvHeads = ints(flags.string("kv-heads", "32,8"));
                int headDim = flags.integer("head-dim", 128);
                flags.finish();
                long largest = Arrays.stream(seqs).max().orElse(0);
                try (CudaBackend backend = backend(gpu, 10L * largest * heads * headDim * 2 + (1L << 30))) {
                    for (int kv : kvHeads) {
                        for (int s : seqs) {
                            attention(backend, s, heads, kv, headDim, iters, out);
                        }
                    }
                }
            }
            default -> throw new Flags.UsageException("--what must be gemm or attention, not '" + what + "'");
        }
        return 0;
    }

    private static CudaBackend backend(int gpu, long poolBytes) {
        Cuda.require();
        return new CudaBackend(gpu, poolBytes);
    }

    private static int[] ints(String csv) {
        try {
            return Arrays.stream(csv.split(",")).map(String::trim).mapToInt(Integer::parseInt).toArray();
        } catch (NumberFormatException e) {
            throw new Flags.UsageException("expected a comma-separated list of integers, not '" + csv + "'");
        }
    }

    private static void gemm(CudaBackend b, int n, int iters, PrintStream out) {
        Tensor x = random(b, 1, n, n);
        Tensor y = random(b, 1, n, n);
        Tensor z = b.allocate(DType.BF16, n, n);
        double ms = medianMillis(b, iters, () -> b.matmul(x, false, y, false, z, 1, 0));
        emit(out, "\"what\":\"gemm_bf16\",\"n\":%d,\"ms\":%.3f,\"tflops\":%.1f", n, ms, 2.0 * n * n * n / ms / 1e9);
        x.close();
        y.close();
        z.close();
    }

    private static void attention(CudaBackend b, int s, int h, int kv, int d, int iters, PrintStream out) {
        Tensor q = random(b, 1, 1, s, h, d);
        Tensor k = random(b, 1, 1, s, kv, d);
        Tensor v = random(b, 1, 1, s, kv, d);
        Tensor o = b.allocate(DType.BF16, 1, s, h, d);
        Tensor lse = b.allocate(DType.F32, 1, h, s);
        Tensor dout = random(b, 1, 1, s, h, d);
        Tensor dq = b.allocate(DType.BF16, 1, s, h, d);
        Tensor dk = b.allocate(DType.BF16, 1, s, kv, d);
        Tensor dv = b.allocate(DType.BF16, 1, s, kv, d);
        double scale = 1 / Math.sqrt(d);
        double fwd = medianMillis(b, iters, () -> b.attentionForward(q, k, v, AttentionMask.CAUSAL_DIAGONAL, scale, o, lse));
        double bwd = medianMillis(b, iters, () -> b.attentionBackward(dout, o, lse, q, k, v,
                AttentionMask.CAUSAL_DIAGONAL, scale, dq, dk, dv));
        double flops = 2.0 * s * (double) s * h * d;
        emit(out, "\"what\":\"attention_causal\",\"impl\":\"ours\",\"S\":%d,\"heads\":%d,\"kv_heads\":%d,\"head_dim\":%d,"
                        + "\"fwd_ms\":%.3f,\"fwd_tflops\":%.1f,\"bwd_ms\":%.3f,\"bwd_tflops\":%.1f",
                s, h, kv, d, fwd, flops / fwd / 1e9, bwd, 2.5 * flops / bwd / 1e9);
        for (Tensor t : List.of(q, k, v, o, lse, dout, dq, dk, dv)) {
            t.close();
        }
    }

    private static Tensor random(CudaBackend b, double scale, int... shape) {
        int n = 1;
        for (int x : shape) {
            n *= x;
        }
        float[] v = new float[n];
        Random r = new Random(n);
        for (int i = 0; i < n; i++) {
            v[i] = (float) (r.nextGaussian() * scale);
        }
        Tensor t = b.allocate(DType.BF16, shape);
        b.upload(t, v);
        return t;
    }

    /** Median of {@code iters} event-timed runs after three warm-up runs. */
    static double medianMillis(CudaBackend b, int iters, Runnable work) {
        for (int i = 0; i < 3; i++) {
            work.run();
        }
        b.synchronize();
        List<Double> times = new ArrayList<>();
        try (CudaEvent start = CudaEvent.forTiming(); CudaEvent end = CudaEvent.forTiming()) {
            for (int i = 0; i < iters; i++) {
                start.record(b.stream());
                work.run();
                end.record(b.stream());
                end.synchronize();
                times.add((double) end.millisSince(start));
            }
        }
        times.sort(null);
        return times.get(times.size() / 2);
    }

    private static void emit(PrintStream out, String format, Object... args) {
        out.println("{" + String.format(Locale.ROOT, format, args) + ",\"device\":\"" + Cuda.device(0).name() + "\"}");
    }
}
