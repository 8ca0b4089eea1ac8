package io.easycontext.runtime.backend.cuda;

import io.easycontext.runtime.backend.AttentionMask;
import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.cuda.Cu;
import io.easycontext.runtime.cuda.Cublas;
import io.easycontext.runtime.cuda.Cuda;
import io.easycontext.runtime.cuda.CudaDevice;
import io.easycontext.runtime.cuda.CudaStream;
import io.easycontext.runtime.cuda.DeviceMemoryPool;
import io.easycontext.runtime.cuda.DevicePtr;
import io.easycontext.runtime.cuda.Kernel;
import io.easycontext.runtime.cuda.KernelLibrary;
import io.easycontext.runtime.cuda.TensorMaps;
import io.easycontext.runtime.cuda.Transfers;
import io.easycontext.runtime.tensor.Bf16;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tensor.Tensor;
import jcuda.driver.JCudaDriver;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

import static org.bytedeco.cuda.global.cudart.CUDA_R_16BF;
import static org.bytedeco.cuda.global.cudart.CUDA_R_32F;

/**
 * The Backend on one GPU: bf16 activations and parameters, fp32 statistics and master weights, fp32 or bf16 AdamW
 * moments (whichever type the optimizer allocated them in), all work queued on one stream, memory from the device's
 * pool. Only methods that return host values synchronise.
 * The thread that uses a backend must have its device current (the constructor makes it so for its thread;
 * {@link #bindToCurrentThread()} for another).
 */
public final class CudaBackend implements Backend {
    private static final int THREADS = 256;
    /** Elements a thread of the packed kernels takes per step: 16 bytes of bf16 (PACK in kernels/common.cuh). */
    private static final int PACK = 8;
    /**
     * Shared memory the RMSNorm kernels may stage their rows in, where those fit: within the 48 KiB a launch gets
     * without opting in, with room left for the kernels' static shared memory.
     */
    private static final int STAGING_BYTES = 40 << 10;

    private final CudaDevice device;
    private final CudaStream stream;
    private final DeviceMemoryPool pool;
    private final Cublas blas;
    private final HostParking parking;
    private final boolean hopperBuilt;
    private AttentionKernels attentionKernels = AttentionKernels.fromSystemProperty();
    private HopperForward hopperForward = HopperForward.fromSystemProperty();
    private HopperBackward hopperBackward = HopperBackward.fromSystemProperty();

    /**
     * @param ordinal       the GPU
     * @param poolCapacity  the most device memory this backend may reserve, in bytes
     */
    public CudaBackend(int ordinal, long poolCapacity) {
        KernelLibrary.requireBuilt();
        this.device = Cuda.device(ordinal).makeCurrent();
        this.stream = new CudaStream();
        this.pool = new DeviceMemoryPool(device, stream, poolCapacity);
        this.blas = new Cublas(device, pool);
        this.parking = new HostParking(this);
        this.hopperBuilt = KernelLibrary.builtFor(device, HOPPER_ATTENTION);
    }

    /** Chooses the attention kernels from now on (see {@link AttentionKernels}). */
    public void useAttentionKernels(AttentionKernels kernels) {
        this.attentionKernels = kernels;
    }

    /** Chooses the schedule of the Hopper attention forward from now on (see {@link HopperForward}). */
    public void useHopperForward(HopperForward schedule) {
        this.hopperForward = schedule;
    }

    /** Chooses the Hopper attention backward from now on (see {@link HopperBackward}). */
    public void useHopperBackward(HopperBackward schedule) {
        this.hopperBackward = schedule;
    }

    /** {@code hopper} or {@code portable}: the kernels an attention forward or backward of this head size runs. */
    public String attentionKernelsFor(int headDim, boolean backward) {
        return hopperAttention(headDim, backward) ? "hopper" : "portable";
    }

    public void bindToCurrentThread() {
        device.makeCurrent();
    }

    public CudaDevice device() {
        return device;
    }

    public CudaStream stream() {
        return stream;
    }

    public DeviceMemoryPool pool() {
        return pool;
    }

    @Override
    public String name() {
        return "cuda:" + device.ordinal();
    }

    @Override
    public DType floatType() {
        return DType.BF16;
    }

    // ---- memory -------------------------------------------------------------------------------------------

    @Override
    public CudaTensor allocate(DType dtype, int... shape) {
        long n = 1;
        for (int d : shape) {
            require(d >= 0, "negative dimension in %s", Arrays.toString(shape));
            n *= d;
        }
        require(dtype != DType.F64, "the CUDA backend stores BF16, F32 and I32, not F64");
        return new CudaTensor(dtype, shape, pool, pool.allocate(Math.max(1, n) * dtype.bytes()));
    }

    @Override
    public CudaTensor zeros(DType dtype, int... shape) {
        CudaTensor t = allocate(dtype, shape);
        Cu.check(JCudaDriver.cuMemsetD8Async(t.ptr(), (byte) 0, t.bytes(), stream.handle()), "cuMemsetD8Async");
        return t;
    }

    @Override
    public CudaTensor view(Tensor base, long offset, int... shape) {
        CudaTensor b = CudaTensor.of(base);
        long n = 1;
        for (int d : shape) {
            n *= d;
        }
        require(offset >= 0 && offset + n <= b.numel(), "view of %s at %d exceeds %s", Arrays.toString(shape), offset, b);
        return new CudaTensor(b.dtype(), shape, b.ptr().plus(offset * b.dtype().bytes()));
    }

    @Override
    public void upload(Tensor dst, float[] src) {
        CudaTensor t = CudaTensor.of(dst);
        require(src.length == t.numel(), "upload of %d values into %s", src.length, t);
        stream.synchronize();
        switch (t.dtype()) {
            case F32 -> Transfers.upload(t.ptr(), src);
            case BF16 -> {
                short[] bits = new short[src.length];
                for (int i = 0; i < src.length; i++) {
                    bits[i] = Bf16.fromFloat(src[i]);
                }
                Transfers.upload(t.ptr(), bits);
            }
            default -> throw new IllegalArgumentException("upload of floats into " + t);
        }
    }

    @Override
    public void uploadInts(Tensor dst, int[] src) {
        CudaTensor t = CudaTensor.of(dst);
        require(t.dtype() == DType.I32 && src.length == t.numel(), "upload of %d ints into %s", src.length, t);
        stream.synchronize();
        Transfers.upload(t.ptr(), src);
    }

    @Override
    public double[] download(Tensor src) {
        CudaTensor t = CudaTensor.of(src);
        int n = Math.toIntExact(t.numel());
        stream.synchronize();
        double[] out = new double[n];
        switch (t.dtype()) {
            case F32 -> {
                float[] f = Transfers.downloadFloats(t.ptr(), n);
                for (int i = 0; i < n; i++) {
                    out[i] = f[i];
                }
            }
            case BF16 -> {
                short[] b = Transfers.downloadShorts(t.ptr(), n);
                for (int i = 0; i < n; i++) {
                    out[i] = Bf16.toFloat(b[i]);
                }
            }
            default -> throw new IllegalArgumentException("download of floats from " + t);
        }
        return out;
    }

    @Override
    public int[] downloadInts(Tensor src) {
        CudaTensor t = CudaTensor.of(src);
        require(t.dtype() == DType.I32, "download of ints from %s", t);
        stream.synchronize();
        return Transfers.downloadInts(t.ptr(), Math.toIntExact(t.numel()));
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        CudaTensor s = CudaTensor.of(src);
        CudaTensor d = CudaTensor.of(dst);
        require(s.numel() == d.numel(), "copy of %s into %s", s, d);
        if (s.dtype() == d.dtype()) {
            Cu.check(JCudaDriver.cuMemcpyDtoDAsync(d.ptr(), s.ptr(), s.bytes(), stream.handle()), "cuMemcpyDtoDAsync");
        } else if (s.dtype() == DType.F32 && d.dtype() == DType.BF16) {
            packed("elementwise", "cast_f32_to_bf16", s.numel(), s.ptr(), d.ptr(), s.numel());
        } else if (s.dtype() == DType.BF16 && d.dtype() == DType.F32) {
            packed("elementwise", "cast_bf16_to_f32", s.numel(), s.ptr(), d.ptr(), s.numel());
        } else {
            throw new IllegalArgumentException("copy from " + s + " to " + d);
        }
    }

    @Override
    public void copyColumns(Tensor src, int srcCol, Tensor dst, int dstCol, int cols) {
        long rows = Backend.columnRows(src, srcCol, dst, dstCol, cols);
        CudaTensor s = CudaTensor.of(src);
        CudaTensor d = CudaTensor.of(dst);
        long eb = s.dtype().bytes();
        Transfers.copy2d(stream, s.ptr(), s.dim(-1) * eb, srcCol * eb, d.ptr(), d.dim(-1) * eb, dstCol * eb, cols * eb,
                rows);
    }

    @Override
    public void fill(Tensor dst, double value) {
        CudaTensor t = CudaTensor.of(dst);
        if (t.dtype() == DType.I32) {
            Cu.check(JCudaDriver.cuMemsetD32Async(t.ptr(), (int) value, t.numel(), stream.handle()), "cuMemsetD32Async");
            return;
        }
        packed("elementwise", "fill_" + suffix(t), t.numel(), t.ptr(), (float) value, t.numel());
    }

    // ---- elementwise --------------------------------------------------------------------------------------

    @Override
    public void addScaledAccumulate(Tensor acc, Tensor x, double alpha) {
        CudaTensor a = CudaTensor.of(acc);
        CudaTensor b = CudaTensor.of(x);
        require(a.numel() == b.numel(), "add of %s into %s", b, a);
        String fn = a.dtype() == b.dtype() ? "add_scaled_" + suffix(a) : "add_scaled_" + suffix(a) + "_" + suffix(b);
        packed("elementwise", fn, a.numel(), a.ptr(), b.ptr(), (float) alpha, a.numel());
    }

    @Override
    public void scale(Tensor x, double alpha) {
        CudaTensor t = CudaTensor.of(x);
        packed("elementwise", "scale_" + suffix(t), t.numel(), t.ptr(), (float) alpha, t.numel());
    }

    @Override
    public double sumOfSquares(Tensor x) {
        CudaTensor t = CudaTensor.of(x);
        int blocks = Math.min(1024, Kernel.blocks(t.numel(), THREADS));
        try (CudaTensor partials = allocate(DType.F32, blocks); CudaTensor total = allocate(DType.F32, 1)) {
            kernel("elementwise", "sum_squares_" + suffix(t)).launch(stream, blocks, THREADS, t.ptr(), partials.ptr(), t.numel());
            kernel("elementwise", "sum_f32").launch(stream, 1, 1024, partials.ptr(), total.ptr(), (long) blocks);
            return download(total)[0];
        }
    }

    // ---- GEMM ---------------------------------------------------------------------------------------------

    @Override
    public void matmul(Tensor a, boolean transA, Tensor b, boolean transB, Tensor c, double alpha, double beta) {
        CudaTensor ta = CudaTensor.of(a);
        CudaTensor tb = CudaTensor.of(b);
        CudaTensor tc = CudaTensor.of(c);
        require(ta.shape().length == 2 && tb.shape().length == 2 && tc.shape().length == 2, "matmul needs 2-D tensors: %s %s %s", ta, tb, tc);
        int m = transA ? ta.dim(1) : ta.dim(0);
        int k = transA ? ta.dim(0) : ta.dim(1);
        int kb = transB ? tb.dim(1) : tb.dim(0);
        int n = transB ? tb.dim(0) : tb.dim(1);
        require(k == kb && tc.dim(0) == m && tc.dim(1) == n, "matmul shapes: op(%s)·op(%s) into %s", ta, tb, tc);
        blas.gemm(ta.ptr(), cudaType(ta), transA, tb.ptr(), cudaType(tb), transB, tc.ptr(), cudaType(tc), m, n, k,
                (float) alpha, (float) beta);
    }

    private static int cudaType(CudaTensor t) {
        return switch (t.dtype()) {
            case BF16 -> CUDA_R_16BF;
            case F32 -> CUDA_R_32F;
            default -> throw new IllegalArgumentException("no GEMM on " + t);
        };
    }

    // ---- embedding ----------------------------------------------------------------------------------------

    @Override
    public void embeddingForward(Tensor weight, Tensor ids, Tensor out) {
        CudaTensor w = CudaTensor.of(weight);
        CudaTensor i = CudaTensor.of(ids);
        CudaTensor o = CudaTensor.of(out);
        int hidden = w.dim(1);
        require(o.numel() == i.numel() * hidden && o.dtype() == w.dtype(), "embedding of %s from %s into %s", i, w, o);
        rows("embedding", "embedding_forward_" + suffix(w), i.numel(), w.ptr(), i.ptr(), o.ptr(), hidden);
    }

    @Override
    public void embeddingBackward(Tensor dOut, Tensor ids, Tensor dWeight) {
        CudaTensor d = CudaTensor.of(dOut);
        CudaTensor i = CudaTensor.of(ids);
        CudaTensor dw = CudaTensor.of(dWeight);
        int hidden = dw.dim(1);
        String src = d.dtype() == DType.F32 ? "_f32" : "";
        if (dw.dtype() == DType.F32) {
            rows("embedding", "embedding_backward_f32" + src, i.numel(), d.ptr(), i.ptr(), dw.ptr(), hidden);
        } else {
            // Collisions between repeated ids are summed in fp32, then added to the bf16 gradient once.
            try (CudaTensor scratch = zeros(DType.F32, dw.shape())) {
                rows("embedding", "embedding_backward_f32" + src, i.numel(), d.ptr(), i.ptr(), scratch.ptr(), hidden);
                addScaledAccumulate(dw, scratch, 1.0);
            }
        }
    }

    // ---- RMSNorm ------------------------------------------------------------------------------------------

    @Override
    public void rmsNormForward(Tensor x, Tensor weight, double eps, Tensor out, Tensor rstd) {
        CudaTensor tx = CudaTensor.of(x);
        int hidden = tx.dim(-1);
        long n = tx.numel() / hidden;
        stagedRows("rmsnorm", "rmsnorm_forward_" + suffix(tx), n, staging(1, hidden, tx), tx.ptr(), ptr(weight), ptr(out),
                ptr(rstd), hidden, (float) eps);
    }

    @Override
    public void rmsNormBackward(Tensor dOut, Tensor x, Tensor weight, Tensor rstd, Tensor dx, Tensor dWeight) {
        CudaTensor tx = CudaTensor.of(x);
        int hidden = tx.dim(-1);
        long n = tx.numel() / hidden;
        String sfx = suffix(tx);
        stagedRows("rmsnorm", "rmsnorm_backward_dx_" + sfx, n, staging(2, hidden, tx), ptr(dOut), tx.ptr(), ptr(weight),
                ptr(rstd), ptr(dx), hidden);
        int rowsPerBlock = 64;
        int chunks = Math.toIntExact((n + rowsPerBlock - 1) / rowsPerBlock);
        try (CudaTensor dw = zeros(DType.F32, hidden)) {
            kernel("rmsnorm", "rmsnorm_backward_dw_" + sfx).launchGrid(stream, Kernel.blocks(hidden, THREADS), chunks, 1,
                    THREADS, 1, 1, 0, ptr(dOut), tx.ptr(), ptr(rstd), dw.ptr(), n, hidden, rowsPerBlock);
            addScaledAccumulate(dWeight, dw, 1.0);
        }
    }

    // ---- rotary embedding ---------------------------------------------------------------------------------

    @Override
    public void rope(Tensor x, Tensor positions, Tensor invFreq, boolean inverse, Tensor out) {
        CudaTensor tx = CudaTensor.of(x);
        int[] s = tx.shape();
        require(s.length == 4, "rope expects [batch, tokens, heads, headDim], got %s", tx);
        long tokens = (long) s[0] * s[1];
        require(CudaTensor.of(positions).numel() == tokens, "rope positions %s for %s", positions, tx);
        // A thread rotates one token's pair (or pack of pairs) in every head.
        long pairs = tokens * (s[3] / 2);
        packed("rope", "rope_" + suffix(tx), pairs, tx.ptr(), ptr(positions), ptr(invFreq), ptr(out), tokens,
                s[2], s[3], inverse ? -1f : 1f);
    }

    // ---- SwiGLU -------------------------------------------------------------------------------------------

    @Override
    public void swiGluForward(Tensor gate, Tensor up, Tensor out) {
        CudaTensor g = CudaTensor.of(gate);
        packed("swiglu", "swiglu_forward_" + suffix(g), g.numel(), g.ptr(), ptr(up), ptr(out), g.numel());
    }

    @Override
    public void swiGluBackward(Tensor dOut, Tensor gate, Tensor up, Tensor dGate, Tensor dUp) {
        CudaTensor g = CudaTensor.of(gate);
        packed("swiglu", "swiglu_backward_" + suffix(g), g.numel(), ptr(dOut), g.ptr(), ptr(up), ptr(dGate),
                ptr(dUp), g.numel());
    }

    // ---- attention in blocks ------------------------------------------------------------------------------

    private static final String HOPPER_ATTENTION = "attention_hopper";
    private static final System.Logger LOG = System.getLogger(CudaBackend.class.getName());
    /** Threads of the warp-specialized kernels, and their setmaxnreg split: 128 loading at 24, 256 computing at 240. */
    static final int WARP_SPECIALIZED_THREADS = 384;
    static final int WARP_SPECIALIZED_SPLIT = 128 * 24 + 256 * 240;
    /** Per kernel name: whether its launch reserves the registers its split needs (checked once). */
    private final Map<String, Boolean> reservesSplit = new HashMap<>();

    private boolean hopperAttention(int headDim, boolean backward) {
        return backward ? hopperBackward(headDim) != null
                : attentionKernels == AttentionKernels.AUTO && hopperBuilt && (headDim == 128 || headDim == 64);
    }

    /**
     * A warp-specialized kernel's computing warpgroups take their registers from the pool its launch reserved
     * (threads × the registers the driver compiled it to); a compile that gave it fewer than the split needs would
     * make every launch wait forever in setmaxnreg. Such a kernel is never launched: the 256-thread one runs instead,
     * with a warning naming both.
     */
    private boolean reservesItsSplit(String function, String instead) {
        return reservesSplit.computeIfAbsent(function, f -> {
            int registers = kernel(HOPPER_ATTENTION, f).registers();
            boolean fits = registers * WARP_SPECIALIZED_THREADS >= WARP_SPECIALIZED_SPLIT;
            if (!fits) {
                LOG.log(System.Logger.Level.WARNING, "{0} was compiled to {1} registers a thread, fewer than its "
                        + "setmaxnreg split needs ({2} over {3} threads): running {4} instead", f, registers,
                        WARP_SPECIALIZED_SPLIT, WARP_SPECIALIZED_THREADS, instead);
            }
            return fits;
        });
    }

    private HopperForward hopperForward(int headDim) {
        if (hopperForward.threads() == WARP_SPECIALIZED_THREADS && !reservesItsSplit(
                forwardKernel(hopperForward, headDim), forwardKernel(HopperForward.PLAIN, headDim))) {
            return HopperForward.PLAIN;
        }
        return hopperForward;
    }

    private static String forwardKernel(HopperForward f, int headDim) {
        return "attention_forward_hopper_" + f.prefix() + "d" + headDim;
    }

    /**
     * The Hopper backward for this head size (see {@link HopperBackward#forHeadSize}), null where the portable one
     * runs (the portable kernels chosen, no sm_90a build, or no Hopper kernel for the size).
     */
    private HopperBackward hopperBackward(int headDim) {
        if (attentionKernels != AttentionKernels.AUTO || !hopperBuilt) {
            return null;
        }
        HopperBackward b = hopperBackward.forHeadSize(headDim);
        if (b != null && b.threads() == WARP_SPECIALIZED_THREADS
                && !reservesItsSplit(backwardKernel(b, headDim), HopperBackward.PLAIN.supports(headDim)
                        ? backwardKernel(HopperBackward.PLAIN, headDim) : "the portable backward")) {
            return HopperBackward.PLAIN.supports(headDim) ? HopperBackward.PLAIN : null;
        }
        return b;
    }

    private static String backwardKernel(HopperBackward b, int headDim) {
        return "attention_backward_hopper_" + b.prefix() + "d" + headDim;
    }

    private static long[] queryMap(Tensor t, AttentionShape s, int boxRows) {
        return TensorMaps.rowsOfOneHead(ptr(t), s.batch(), s.tq(), s.hq(), s.headDim(), boxRows);
    }

    private static long[] keyMap(Tensor t, AttentionShape s, int boxRows) {
        return TensorMaps.rowsOfOneHead(ptr(t), s.batch(), s.tk(), s.hkv(), s.headDim(), boxRows);
    }

    @Override
    public void attentionForward(Tensor q, Tensor k, Tensor v, AttentionMask mask, double scale, Tensor out, Tensor lse) {
        AttentionShape s = AttentionShape.of(q, k, mask);
        int d = s.headDim();
        int causal = mask == AttentionMask.CAUSAL_DIAGONAL ? 1 : 0;
        if (hopperAttention(d, false)) {
            HopperForward f = hopperForward(d);
            int smem = f.sharedMemory(d);
            kernel(HOPPER_ATTENTION, forwardKernel(f, d)).maxDynamicSharedMemory(smem)
                    .launchGrid(stream, (s.tq() + 127) / 128, s.hq(), s.batch(), f.threads(), 1, 1, smem,
                            queryMap(q, s, 128), keyMap(k, s, 128), keyMap(v, s, 128), ptr(out), ptr(lse), s.tq(),
                            s.tk(), s.hq(), s.hkv(), causal, (float) scale);
            return;
        }
        // 128 query rows, and two stages of 64 keys and values; rows padded by 8 elements (see attention.cu).
        int smem = (128 + 4 * 64) * (d + 8) * 2;
        kernel("attention", "attention_forward_d" + d).maxDynamicSharedMemory(smem)
                .launchGrid(stream, (s.tq() + 127) / 128, s.hq(), s.batch(), 128, 1, 1, smem,
                        ptr(q), ptr(k), ptr(v), ptr(out), ptr(lse), s.tq(), s.tk(), s.hq(), s.hkv(), causal,
                        (float) scale);
    }

    @Override
    public void attentionBackward(Tensor dOut, Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v,
                                  AttentionMask mask, double scale, Tensor dq, Tensor dk, Tensor dv) {
        AttentionShape s = AttentionShape.of(q, k, mask);
        long rows = (long) s.batch() * s.tq() * s.hq();
        int d = s.headDim();
        // Chosen before the accumulator: its layout depends on the kernel that will add into it.
        HopperBackward b = hopperBackward(d);
        boolean tiles = b != null && b.tileOrderedDq();
        int qTiles = (s.tq() + 63) / 64;
        try (CudaTensor delta = allocate(DType.F32, s.batch(), s.hq(), s.tq());
             CudaTensor dqAcc = tiles ? zeros(DType.F32, s.batch(), s.hq(), qTiles, 64, d)
                     : zeros(DType.F32, s.batch(), s.tq(), s.hq(), d)) {
            kernel("attention", "attention_backward_delta").launch(stream, Kernel.blocks(rows * 32, THREADS), THREADS,
                    ptr(dOut), ptr(out), delta.ptr(), rows, s.tq(), s.hq(), s.headDim());
            int causal = mask == AttentionMask.CAUSAL_DIAGONAL ? 1 : 0;
            if (b != null) {
                int smem = b.sharedMemory(d);
                int threads = b.threads();
                kernel(HOPPER_ATTENTION, backwardKernel(b, d))
                        .maxDynamicSharedMemory(smem)
                        .launchGrid(stream, (s.tk() + 127) / 128, s.hkv(), s.batch(), threads, 1, 1, smem,
                                queryMap(q, s, 64), keyMap(k, s, 128), keyMap(v, s, 128), queryMap(dOut, s, 64),
                                ptr(lse), delta.ptr(), dqAcc.ptr(), ptr(dk), ptr(dv), s.tq(), s.tk(), s.hq(), s.hkv(),
                                causal, (float) scale);
            } else {
                // K and V (64 keys), two stages of Q and dO (32 queries), dSᵀ, two stages of lse and delta.
                int smem = (2 * 64 * (d + 8) + 2 * 2 * 32 * (d + 8) + 64 * (32 + 8)) * 2 + 2 * 2 * 32 * 4;
                kernel("attention", "attention_backward_d" + d).maxDynamicSharedMemory(smem)
                        .launchGrid(stream, (s.tk() + 63) / 64, s.hkv(), s.batch(), 128, 1, 1, smem,
                                ptr(q), ptr(k), ptr(v), ptr(dOut), ptr(lse), delta.ptr(), dqAcc.ptr(), ptr(dk),
                                ptr(dv), s.tq(), s.tk(), s.hq(), s.hkv(), causal, (float) scale);
            }
            if (tiles) {
                kernel(HOPPER_ATTENTION, "attention_backward_dq_tiles_d" + d).launchGrid(stream, qTiles, s.hq(),
                        s.batch(), 256, 1, 1, 0, dqAcc.ptr(), ptr(dq), s.tq(), s.hq());
            } else {
                packed("attention", "attention_backward_dq", dqAcc.numel(), dqAcc.ptr(), ptr(dq), dqAcc.numel());
            }
        }
    }

    @Override
    public void attentionMerge(Tensor out, Tensor lse, Tensor outB, Tensor lseB) {
        CudaTensor o = CudaTensor.of(out);
        int[] s = o.shape();
        require(s.length == 4 && o.dtype() == DType.BF16, "merge expects a bf16 [batch, tokens, heads, headDim] output, got %s", o);
        long rows = (long) s[0] * s[1] * s[2];
        kernel("attention", "attention_merge").launch(stream, Kernel.blocks(rows * 32, THREADS), THREADS,
                o.ptr(), ptr(lse), ptr(outB), ptr(lseB), rows, s[1], s[2], s[3]);
    }

    // ---- loss ---------------------------------------------------------------------------------------------

    @Override
    public double crossEntropyForwardBackward(Tensor logits, Tensor targets, int ignoreIndex, double gradScale) {
        CudaTensor l = CudaTensor.of(logits);
        int vocab = l.dim(-1);
        long n = l.numel() / vocab;
        require(CudaTensor.of(targets).numel() == n, "cross-entropy of %s with targets %s", l, targets);
        try (CudaTensor losses = allocate(DType.F32, Math.toIntExact(n)); CudaTensor total = allocate(DType.F32, 1)) {
            kernel("cross_entropy", "cross_entropy_" + suffix(l)).launchGrid(stream, Math.toIntExact(n), 1, 1, 1024, 1, 1, 0,
                    l.ptr(), ptr(targets), losses.ptr(), vocab, ignoreIndex, (float) gradScale);
            kernel("elementwise", "sum_f32").launch(stream, 1, 1024, losses.ptr(), total.ptr(), n);
            return download(total)[0];
        }
    }

    // ---- optimizer ----------------------------------------------------------------------------------------

    @Override
    public void adamW(Tensor param, Tensor master, Tensor grad, Tensor m, Tensor v, double lr, double beta1,
                      double beta2, double eps, double weightDecay, long step, double gradScale) {
        CudaTensor p = CudaTensor.of(param);
        CudaTensor g = CudaTensor.of(grad);
        DType moments = CudaTensor.of(m).dtype();
        require((moments == DType.F32 || moments == DType.BF16) && CudaTensor.of(v).dtype() == moments,
                "AdamW moments must be both F32 or both BF16, got %s and %s", m, v);
        require(p.dtype() == DType.F32 || master != null, "a bf16 parameter needs fp32 master weights: %s", p);
        require(master == null || CudaTensor.of(master).dtype() == DType.F32, "master weights must be F32: %s", master);
        require(step >= 1, "AdamW steps count from 1, got %d", step);
        DevicePtr masterPtr = master == null ? new DevicePtr() : ptr(master);
        // adamw_<param>_<grad> keeps fp32 moments, adamw_<param>_<grad>_mbf16 bf16 ones (kernels/adamw.cu).
        String function = "adamw_" + suffix(p) + "_" + suffix(g) + (moments == DType.BF16 ? "_mbf16" : "");
        elementwise("adamw", function, p.numel(), p.ptr(), masterPtr, g.ptr(), ptr(m),
                ptr(v), (float) lr, (float) beta1, (float) beta2, (float) eps, (float) weightDecay,
                (float) (1 - Math.pow(beta1, step)), (float) (1 - Math.pow(beta2, step)), (float) gradScale, p.numel());
    }

    @Override
    public void synchronize() {
        stream.synchronize();
    }

    @Override
    public void close() {
        device.makeCurrent();
        stream.synchronize();
        parking.close();
        blas.close();
        pool.close();
        stream.close();
    }

    /** Page-locked host memory, copies on a stream of their own: see {@link HostParking}. */
    @Override
    public Parked park(Tensor t) {
        return parking.park(t);
    }

    @Override
    public long peakDeviceBytes() {
        return pool.peakInUse();
    }

    @Override
    public void resetPeakDeviceBytes() {
        pool.resetPeak();
    }

    /** Page-locked host bytes held for parked tensors (kept for reuse across steps). */
    public long parkedHostBytes() {
        return parking.hostBytes();
    }

    // ---- helpers ------------------------------------------------------------------------------------------

    private Kernel kernel(String module, String function) {
        return KernelLibrary.kernel(device, module, function);
    }

    /**
     * A grid-stride kernel over {@code n} elements, one a thread at a time: at most one wave of blocks, as many as the
     * GPU holds at once. Their shares of the work are equal, so a second, partial wave would leave most of the GPU
     * idle while it ran, and more blocks would only take turns.
     */
    private void elementwise(String module, String function, long n, Object... args) {
        Kernel k = kernel(module, function);
        int wave = device.multiprocessors() * k.residentBlocks(THREADS);
        k.launch(stream, Math.min(wave, Kernel.blocks(n, THREADS)), THREADS, args);
    }

    /** A grid-stride kernel over {@code n} elements that takes a pack of them a step where its pointers allow. */
    private void packed(String module, String function, long n, Object... args) {
        elementwise(module, function, (n + PACK - 1) / PACK, args);
    }

    /** A kernel with one block per row. */
    private void rows(String module, String function, long rows, Object... args) {
        stagedRows(module, function, rows, 0, args);
    }

    /** A kernel with one block per row and {@code sharedBytes} of dynamic shared memory to stage rows in. */
    private void stagedRows(String module, String function, long rows, int sharedBytes, Object... args) {
        if (rows > 0) {
            kernel(module, function).launchGrid(stream, Math.toIntExact(rows), 1, 1, THREADS, 1, 1, sharedBytes, args);
        }
    }

    /** Shared memory for {@code rows} rows of {@code hidden} elements of t's type, or none where they do not fit. */
    private static int staging(int rows, int hidden, CudaTensor t) {
        long bytes = (long) rows * hidden * t.dtype().bytes();
        return bytes <= STAGING_BYTES ? (int) bytes : 0;
    }

    private static DevicePtr ptr(Tensor t) {
        return CudaTensor.of(t).ptr();
    }

    private static String suffix(Tensor t) {
        return switch (t.dtype()) {
            case BF16 -> "bf16";
            case F32 -> "f32";
            default -> throw new IllegalArgumentException("no CUDA kernel for " + t.dtype() + " tensors: " + t);
        };
    }

    static void require(boolean ok, String format, Object... args) {
        if (!ok) {
            throw new IllegalArgumentException(String.format(format, args));
        }
    }
}
