package io.easycontext.runtime.backend.cpu;

import io.easycontext.runtime.backend.AttentionMask;
import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.comm.Communicator;
import io.easycontext.runtime.comm.ForwardingCommunicator;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tensor.Tensor;


/**
 * The CPU backend with the allocation bookkeeping of the CUDA one: it counts the bytes of every tensor it hands out
 * until that tensor is closed, as the device pool does, and fails on any use of a closed tensor or of a view of one
 * (which on a GPU would read memory the pool may already have handed to another tensor). The arithmetic is the
 * wrapped {@link CpuBackend}'s, op for op, so results are bit for bit those of a plain CPU backend with the same
 * types.
 *
 * <p>Bytes are counted as the CUDA backend stores the tensors: 2 per element of {@link #floatType()} (bf16 there)
 * and 4 per element of any other type (the fp32 statistics, I32). For that to tell statistics from activations give
 * it a {@code statsType} other than {@code floatType}, e.g. F64 beside F32. {@link #attentionBackward} also counts,
 * while it runs, the two fp32 tensors {@code CudaBackend.attentionBackward} allocates: delta {@code [b, hq, tq]} and
 * the dQ accumulator {@code [b, tq, hq, d]}.
 *
 * <p>{@link #communicator} lets this backend's tensors travel over an in-process communicator, counting what
 * {@code NcclCommunicator} takes from the pool for itself: an all-to-all's packed send and receive buffers, each the
 * size of {@code send}, while it runs.
 */
public final class TrackingBackend implements Backend {

    /** A tensor handed out by this backend: an owner of its bytes, or a view that reads its owner's. */
    private final class Tracked implements Tensor {
        final CpuTensor inner;
        /** The owner of the memory: this tensor itself, or the tensor a view was taken of. */
        final Tracked owner;
        final long bytes;
        boolean closed;

        Tracked(CpuTensor inner, Tracked owner, long bytes) {
            this.inner = inner;
            this.owner = owner == null ? this : owner;
            this.bytes = bytes;
        }

        @Override
        public int[] shape() {
            return inner.shape();
        }

        @Override
        public DType dtype() {
            return inner.dtype();
        }

        @Override
        public void close() {
            if (owner == this && !closed) {
                closed = true;
                live -= bytes;
            }
        }

        @Override
        public String toString() {
            return "Tracked" + inner;
        }
    }

    private final CpuBackend cpu;
    private final DType statsType;
    private long live;
    private long peak;

    public TrackingBackend(DType floatType, DType statsType) {
        this.cpu = new CpuBackend(floatType);
        this.statsType = statsType;
    }

    /** Bytes of the tensors handed out and not closed yet. */
    public long liveBytes() {
        return live;
    }

    @Override
    public long peakDeviceBytes() {
        return peak;
    }

    /** The peak starts again from what is live now. */
    @Override
    public void resetPeakDeviceBytes() {
        peak = live;
    }

    private Tensor track(CpuTensor t) {
        Tracked tracked = new Tracked(t, null, t.numel() * (t.dtype() == floatType() ? 2 : 4));
        grow(tracked.bytes);
        return tracked;
    }

    private void grow(long bytes) {
        live += bytes;
        peak = Math.max(peak, live);
    }

    private Tracked tracked(Tensor t) {
        if (!(t instanceof Tracked tracked)) {
            throw new IllegalArgumentException("not a tensor of this backend: " + t);
        }
        if (tracked.owner.closed) {
            throw new IllegalStateException("use of a closed tensor " + t + (tracked.owner == tracked ? "" : " (a view)"));
        }
        return tracked;
    }

    private CpuTensor in(Tensor t) {
        return t == null ? null : tracked(t).inner;
    }

    @Override
    public String name() {
        return "tracking-" + cpu.name();
    }

    @Override
    public DType floatType() {
        return cpu.floatType();
    }

    @Override
    public DType statsType() {
        return statsType;
    }

    @Override
    public Tensor allocate(DType dtype, int... shape) {
        return track(CpuTensor.of(cpu.allocate(dtype, shape)));
    }

    @Override
    public Tensor zeros(DType dtype, int... shape) {
        return track(CpuTensor.of(cpu.zeros(dtype, shape)));
    }

    @Override
    public Tensor view(Tensor base, long offset, int... shape) {
        Tracked b = tracked(base);
        return new Tracked(CpuTensor.of(cpu.view(b.inner, offset, shape)), b.owner, 0);
    }

    @Override
    public void upload(Tensor dst, float[] src) {
        cpu.upload(in(dst), src);
    }

    @Override
    public void uploadInts(Tensor dst, int[] src) {
        cpu.uploadInts(in(dst), src);
    }

    @Override
    public void uploadDoubles(Tensor dst, double[] src) {
        cpu.uploadDoubles(in(dst), src);
    }

    @Override
    public double[] download(Tensor src) {
        return cpu.download(in(src));
    }

    @Override
    public int[] downloadInts(Tensor src) {
        return cpu.downloadInts(in(src));
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        cpu.copy(in(src), in(dst));
    }

    @Override
    public void fill(Tensor dst, double value) {
        cpu.fill(in(dst), value);
    }

    @Override
    public void addScaledAccumulate(Tensor acc, Tensor x, double alpha) {
        cpu.addScaledAccumulate(in(acc), in(x), alpha);
    }

    @Override
    public void scale(Tensor x, double alpha) {
        cpu.scale(in(x), alpha);
    }

    @Override
    public double sumOfSquares(Tensor x) {
        return cpu.sumOfSquares(in(x));
    }

    @Override
    public void matmul(Tensor a, boolean transA, Tensor b, boolean transB, Tensor c, double alpha, double beta) {
        cpu.matmul(in(a), transA, in(b), transB, in(c), alpha, beta);
    }

    @Override
    public void embeddingForward(Tensor weight, Tensor ids, Tensor out) {
        cpu.embeddingForward(in(weight), in(ids), in(out));
    }

    @Override
    public void embeddingBackward(Tensor dOut, Tensor ids, Tensor dWeight) {
        cpu.embeddingBackward(in(dOut), in(ids), in(dWeight));
    }

    @Override
    public void rmsNormForward(Tensor x, Tensor weight, double eps, Tensor out, Tensor rstd) {
        cpu.rmsNormForward(in(x), in(weight), eps, in(out), in(rstd));
    }

    @Override
    public void rmsNormBackward(Tensor dOut, Tensor x, Tensor weight, Tensor rstd, Tensor dx, Tensor dWeight) {
        cpu.rmsNormBackward(in(dOut), in(x), in(weight), in(rstd), in(dx), in(dWeight));
    }

    @Override
    public void rope(Tensor x, Tensor positions, Tensor invFreq, boolean inverse, Tensor out) {
        cpu.rope(in(x), in(positions), in(invFreq), inverse, in(out));
    }

    @Override
    public void swiGluForward(Tensor gate, Tensor up, Tensor out) {
        cpu.swiGluForward(in(gate), in(up), in(out));
    }

    @Override
    public void swiGluBackward(Tensor dOut, Tensor gate, Tensor up, Tensor dGate, Tensor dUp) {
        cpu.swiGluBackward(in(dOut), in(gate), in(up), in(dGate), in(dUp));
    }

    @Override
    public void attentionForward(Tensor q, Tensor k, Tensor v, AttentionMask mask, double scale, Tensor out,
                                 Tensor lse) {
        cpu.attentionForward(in(q), in(k), in(v), mask, scale, in(out), in(lse));
    }

    @Override
    public void attentionBackward(Tensor dOut, Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v,
                                  AttentionMask mask, double scale, Tensor dq, Tensor dk, Tensor dv) {
        // CudaBackend's fp32 delta [b, hq, tq] and dQ accumulator [b, tq, hq, d], alive for the op.
        long scratch = 4 * (q.numel() / q.dim(-1) + q.numel());
        grow(scratch);
        try {
            cpu.attentionBackward(in(dOut), in(out), in(lse), in(q), in(k), in(v), mask, scale, in(dq), in(dk), in(dv));
        } finally {
            live -= scratch;
        }
    }

    @Override
    public void attentionMerge(Tensor out, Tensor lse, Tensor outB, Tensor lseB) {
        cpu.attentionMerge(in(out), in(lse), in(outB), in(lseB));
    }

    @Override
    public double crossEntropyForwardBackward(Tensor logits, Tensor targets, int ignoreIndex, double gradScale) {
        return cpu.crossEntropyForwardBackward(in(logits), in(targets), ignoreIndex, gradScale);
    }

    @Override
    public void adamW(Tensor param, Tensor master, Tensor grad, Tensor m, Tensor v, double lr, double beta1,
                      double beta2, double eps, double weightDecay, long step, double gradScale) {
        cpu.adamW(in(param), in(master), in(grad), in(m), in(v), lr, beta1, beta2, eps, weightDecay, step, gradScale);
    }

    /** {@code inner} (an in-process communicator over CPU tensors) for the tensors of this backend. */
    public Communicator communicator(Communicator inner) {
        return new TrackedCommunicator(inner);
    }

    private final class TrackedCommunicator extends ForwardingCommunicator {

        TrackedCommunicator(Communicator inner) {
            super(inner);
        }

        @Override
        protected Communicator decorate(Communicator split) {
            return new TrackedCommunicator(split);
        }

        @Override
        protected Tensor unwrap(Tensor t) {
            return in(t);
        }

        @Override
        public void allToAll(Tensor send, Tensor recv, int scatterDim, int gatherDim) {
            long packing = 2 * tracked(send).inner.numel() * (send.dtype() == floatType() ? 2 : 4);
            grow(packing);
            try {
                inner.allToAll(in(send), in(recv), scatterDim, gatherDim);
            } finally {
                live -= packing;
            }
        }
    }
}
