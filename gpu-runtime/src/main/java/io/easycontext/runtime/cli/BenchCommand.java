package io.easycontext.runtime.cli;

import io.easycontext.runtime.backend.AttentionMask;
import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.backend.cuda.AttentionKernels;
import io.easycontext.runtime.backend.cuda.CudaBackend;
import io.easycontext.runtime.backend.cuda.HopperBackward;
import io.easycontext.runtime.backend.cuda.HopperForward;
import io.easycontext.runtime.cuda.Cuda;
import io.easycontext.runtime.cuda.CudaEvent;
import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.model.LlamaModel;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.model.LocalAttention;
import io.easycontext.runtime.optim.AdamW;
import io.easycontext.runtime.optim.LrSchedule;
import io.easycontext.runtime.optim.Optimizer;
import io.easycontext.runtime.optim.OptimizerMoments;
import io.easycontext.runtime.profile.OpProfile;
import io.easycontext.runtime.profile.ProfileReport;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tensor.Tensor;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

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
        return "GPU benchmarks: --what gemm | attention | train, JSON lines side by side with bench/torch_peer.py";
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
                String kernels = flags.string("attention-kernels", "auto");
                String forwardFlags = flags.string("hopper-forward", HopperForward.fromSystemProperty().flag());
                List<HopperForward> schedules = Arrays.stream(forwardFlags.split(",")).map(HopperForward::parse)
                        .toList();
                String backwardFlags = flags.string("hopper-backward", HopperBackward.fromSystemProperty().flag());
                List<HopperBackward> backwards = Arrays.stream(backwardFlags.split(",")).map(HopperBackward::parse)
                        .toList();
                List<AttentionKernels> sets = switch (kernels) {
                    case "auto" -> List.of(AttentionKernels.AUTO);
                    case "portable" -> List.of(AttentionKernels.PORTABLE);
                    case "both" -> List.of(AttentionKernels.AUTO, AttentionKernels.PORTABLE);
                    default -> throw new Flags.UsageException("--attention-kernels must be auto, portable or both, not '"
                            + kernels + "'");
                };
                flags.finish();
                long largest = Arrays.stream(seqs).max().orElse(0);
                try (CudaBackend backend = backend(gpu, 10L * largest * heads * headDim * 2 + (1L << 30))) {
                    for (int kv : kvHeads) {
                        for (int s : seqs) {
                            attention(backend, s, heads, kv, headDim, iters, sets, schedules, backwards, out);
                        }
                    }
                }
            }
            case "train" -> {
                int layers = flags.integer("layers", 8);
                int seq = flags.integer("seq", 32768);
                LlamaConfig config = LlamaConfig.of(flags.integer("hidden", 4096), flags.integer("ffn", 11008), layers,
                        flags.integer("heads", 32), flags.integer("kv-heads", 32), flags.integer("vocab", 32000));
                long poolBytes = (long) (flags.number("pool-gib", 0) * (1L << 30));
                int steps = flags.integer("steps", 3);
                String momentsFlag = flags.string("optimizer-moments", OptimizerMoments.FP32.flag());
                OptimizerMoments moments = Flags.usage(() -> OptimizerMoments.parse(momentsFlag));
                int kept = flags.integer("kept-attention-layers", 0);
                LlamaModel.Options options = Flags.usage(() ->
                        LlamaModel.Options.DEFAULTS.withKeptAttentionLayers(kept));
                boolean profileOps = flags.bool("profile-ops", false);
                flags.finish();
                Cuda.require();
                if (poolBytes == 0) {
                    poolBytes = Cuda.device(gpu).totalMemory() - (2L << 30);
                }
                try (CudaBackend backend = new CudaBackend(gpu, poolBytes);
                     OpProfile profile = profileOps ? OpProfile.of(backend) : null) {
                    train(backend, profile, config, seq, steps, moments, options, out, err);
                }
            }
            default -> throw new Flags.UsageException("--what must be gemm, attention or train, not '" + what + "'");
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

    /**
     * One shape's inputs, made once, timed through every kernel set (and each Hopper forward schedule, each with
     * every Hopper backward): a line per forward and backward pair.
     */
    private static void attention(CudaBackend b, int s, int h, int kv, int d, int iters, List<AttentionKernels> sets,
                                  List<HopperForward> schedules, List<HopperBackward> backwards, PrintStream out) {
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
        double flops = 2.0 * s * (double) s * h * d;
        for (AttentionKernels set : sets) {
            b.useAttentionKernels(set);
            for (HopperForward schedule : set == AttentionKernels.AUTO ? schedules : List.of(HopperForward.PLAIN)) {
                b.useHopperForward(schedule);
                double fwd = medianMillis(b, iters,
                        () -> b.attentionForward(q, k, v, AttentionMask.CAUSAL_DIAGONAL, scale, o, lse));
                String forward = b.attentionKernelsFor(d, false);
                if (forward.equals("hopper")) {
                    forward += "-" + schedule.name().toLowerCase(Locale.ROOT);
                }
                for (HopperBackward backward : set == AttentionKernels.AUTO ? backwards : List.of(HopperBackward.PLAIN)) {
                    b.useHopperBackward(backward);
                    double bwd = medianMillis(b, iters, () -> b.attentionBackward(dout, o, lse, q, k, v,
                            AttentionMask.CAUSAL_DIAGONAL, scale, dq, dk, dv));
                    String backwardKernels = b.attentionKernelsFor(d, true);
                    if (backwardKernels.equals("hopper")) {
                        backwardKernels += "-" + backward.flag();
                    }
                    emit(out, "\"what\":\"attention_causal\",\"impl\":\"ours\",\"kernels\":\"%s/%s\",\"S\":%d,"
                                    + "\"heads\":%d,\"kv_heads\":%d,\"head_dim\":%d,\"fwd_ms\":%.3f,\"fwd_tflops\":%.1f,"
                                    + "\"bwd_ms\":%.3f,\"bwd_tflops\":%.1f",
                            forward, backwardKernels, s, h, kv, d, fwd, flops / fwd / 1e9,
                            bwd, 2.5 * flops / bwd / 1e9);
                }
            }
        }
        for (Tensor t : List.of(q, k, v, o, lse, dout, dq, dk, dv)) {
            t.close();
        }
    }

    /**
     * Training steps of a randomly initialised model on one GPU with activation checkpointing and AdamW; the
     * model FLOPs per token follow the peer: 6·params + 6·layers·S·hidden (recompute not counted). With a
     * {@code profile} (null for none) the ops run through it, and each timed step's op profile follows it: a table
     * on {@code err}, a {@code "what":"op_profile"} line on {@code out}.
     */
    private static void train(CudaBackend b, OpProfile profile, LlamaConfig config, int seq, int steps,
                              OptimizerMoments moments, LlamaModel.Options options, PrintStream out, PrintStream err) {
        Backend ops = profile == null ? b : profile.backend();
        LlamaWeights weights = LlamaWeights.initialize(ops, config, 0);
        LlamaModel model = new LlamaModel(weights, options);
        Random r = new Random(seq);
        int[] ids = new int[seq];
        int[] positions = new int[seq];
        for (int i = 0; i < seq; i++) {
            ids[i] = r.nextInt(config.vocabSize());
            positions[i] = i;
        }
        int[] targets = new int[seq];
        System.arraycopy(ids, 1, targets, 0, seq - 1);
        targets[seq - 1] = LlamaModel.IGNORE_INDEX;
        long count = LlamaModel.countTargets(targets);
        List<Double> times = new ArrayList<>();
        double loss = 0;
        try (Optimizer optimizer = new Optimizer(ops, weights.parameters(),
                AdamW.Hyper.DEFAULTS.withMoments(moments), LrSchedule.constant(1e-5), 1.0)) {
            for (int i = 0; i < steps + 1; i++) {
                b.synchronize();
                if (profile != null) {
                    profile.reset();
                }
                long t0 = System.nanoTime();
                loss = model.forwardBackward(ops, ids, positions, targets, 1, count, LocalAttention.INSTANCE) / count;
                optimizer.step(ops);
                b.synchronize();
                if (i > 0) {
                    times.add((System.nanoTime() - t0) / 1e6);
                    if (profile != null) {
                        ProfileReport report = profile.report();
                        err.print(report.table(0, i));
                        out.println(report.toJson(0, i));
                    }
                }
            }
        }
        times.sort(null);
        double ms = times.get(times.size() / 2);
        long params = config.parameterCount();
        double tokensPerS = seq / (ms / 1e3);
        double flopsPerToken = 6.0 * params + 6.0 * config.numHiddenLayers() * (double) seq * config.hiddenSize();
        emit(out, "\"what\":\"train_step\",\"impl\":\"ours\",\"layers\":%d,\"S\":%d,\"hidden\":%d,\"params\":%d,"
                        + "\"moments\":\"%s\",\"kept_attention_layers\":%d,\"step_ms\":%.1f,\"tokens_per_s\":%.0f,\"model_tflops\":%.1f,"
                        + "\"peak_mem_gib\":%.1f,\"loss\":%.4f",
                config.numHiddenLayers(), seq, config.hiddenSize(), params, moments.flag(),
                Math.min(options.keptAttentionLayers(), config.numHiddenLayers()), ms, tokensPerS,
                tokensPerS * flopsPerToken / 1e12,
                b.pool().peakInUse() / (double) (1L << 30), loss);
        weights.close();
    }

    /**
     * Gaussian values made on all cores (a 64K-token attention input is 268M of them: a minute from one thread),
     * each block of 2^20 from its own seeded generator, so the values do not depend on the core count.
     */
    private static Tensor random(CudaBackend b, double scale, int... shape) {
        int n = 1;
        for (int x : shape) {
            n *= x;
        }
        float[] v = new float[n];
        int block = 1 << 20;
        int total = n;
        IntStream.range(0, (n + block - 1) / block).parallel().forEach(c -> {
            SplittableRandom r = new SplittableRandom(((long) total << 20) + c);
            for (int i = c * block, end = Math.min(total, i + block); i < end; i++) {
                v[i] = (float) (gaussian(r) * scale);
            }
        });
        Tensor t = b.allocate(DType.BF16, shape);
        b.upload(t, v);
        return t;
    }

    /** Box–Muller (SplittableRandom has no nextGaussian on Java 17). */
    private static double gaussian(SplittableRandom r) {
        return Math.sqrt(-2 * Math.log(1 - r.nextDouble())) * Math.cos(2 * Math.PI * r.nextDouble());
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
