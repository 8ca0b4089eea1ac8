package io.easycontext.runtime.backend;

import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tensor.Tensor;

import java.util.Arrays;

/**
 * The ops the model and the sequence-parallel modes run on. Each op has an explicit forward and backward;
 * there is no autograd engine. Two implementations: the CPU reference (float32, float64 for gradient checks)
 * and CUDA (bf16 storage, fp32 accumulation).
 *
 * <p>Conventions, binding on every implementation:
 * <ul>
 *   <li>All tensors are contiguous and row-major. Activations are token-major: {@code [tokens, features]}.</li>
 *   <li>Linear weights use Hugging Face's layout {@code [out_features, in_features]}: {@code y = x · Wᵀ}.</li>
 *   <li>Attention tensors are {@code [batch, tokens, heads, headDim]}; the log-sum-exp is
 *       {@code [batch, heads, tokens]} in natural log, scaled scores included.</li>
 *   <li>Statistics kept for a backward (log-sum-exp, RMSNorm's rstd) and optimizer moments use
 *       {@link #statsType()}: F32, or F64 on the float64 reference so a gradient check sees no float32
 *       rounding anywhere.</li>
 *   <li>Ops whose name ends in {@code Accumulate}, and every parameter-gradient output documented as
 *       "accumulated", add into their output; all other outputs are overwritten.</li>
 *   <li>An op may be asynchronous (CUDA); only methods returning host values synchronise.</li>
 * </ul>
 */
public interface Backend extends AutoCloseable {

    /** A short name such as {@code cpu-f32} or {@code cuda:0}. */
    String name();

    /** The floating-point type this backend stores activations and parameters in. */
    DType floatType();

    /** The type of lse, rstd and AdamW moments: F32 everywhere except F64 on a float64 backend. */
    default DType statsType() {
        return floatType() == DType.F64 ? DType.F64 : DType.F32;
    }

    // ---- memory -------------------------------------------------------------------------------------------

    /** A new tensor of unspecified contents. */
    Tensor allocate(DType dtype, int... shape);

    /** A new tensor filled with zeros. */
    Tensor zeros(DType dtype, int... shape);

    /** A view of {@code shape} over the elements of {@code base} starting at element {@code offset}. */
    Tensor view(Tensor base, long offset, int... shape);

    /** Copies host values in (converted to the tensor's dtype). */
    void upload(Tensor dst, float[] src);

    void uploadInts(Tensor dst, int[] src);

    /**
     * Copies float64 host values in, exactly where the tensor's dtype can hold them: a checkpoint of a float64
     * run restores bit for bit. Narrowing through float is exact for F32 and BF16 tensors, whose values
     * {@link #download} returned; only an F64 backend needs to override this.
     */
    default void uploadDoubles(Tensor dst, double[] src) {
        float[] narrowed = new float[src.length];
        for (int i = 0; i < src.length; i++) {
            narrowed[i] = (float) src[i];
        }
        upload(dst, narrowed);
    }

    /** Copies the tensor out to the host as float64 (synchronises). */
    double[] download(Tensor src);

    int[] downloadInts(Tensor src);

    void copy(Tensor src, Tensor dst);

    /**
     * Copies a band of columns between tensors with the same number of rows (every dimension but the last):
     * {@code dst[r, dstCol + c] = src[r, srcCol + c]} for {@code c < cols}, same dtype. Gathers or scatters a chunk
     * of tokens in {@code lse [b, h, t]}, where a chunk is one run of columns per head.
     */
    default void copyColumns(Tensor src, int srcCol, Tensor dst, int dstCol, int cols) {
        long rows = columnRows(src, srcCol, dst, dstCol, cols);
        int srcWidth = src.dim(-1);
        int dstWidth = dst.dim(-1);
        for (long r = 0; r < rows; r++) {
            copy(view(src, r * srcWidth + srcCol, cols), view(dst, r * dstWidth + dstCol, cols));
        }
    }

    /**
     * The rows {@link #copyColumns} copies, once its arguments are checked: the same dtype and rows on both sides, and
     * the band within each.
     */
    static long columnRows(Tensor src, int srcCol, Tensor dst, int dstCol, int cols) {
        long rows = src.numel() / src.dim(-1);
        if (src.dtype() != dst.dtype() || rows != dst.numel() / dst.dim(-1) || srcCol + cols > src.dim(-1)
                || dstCol + cols > dst.dim(-1)) {
            throw new IllegalArgumentException("columns [" + srcCol + ", +" + cols + ") of " + src.dtype() + " "
                    + Arrays.toString(src.shape()) + " into [" + dstCol + ", +" + cols + ") of " + dst.dtype() + " "
                    + Arrays.toString(dst.shape()));
        }
        return rows;
    }

    void fill(Tensor dst, double value);

    // ---- elementwise --------------------------------------------------------------------------------------

    /** {@code acc += alpha * x}. */
    void addScaledAccumulate(Tensor acc, Tensor x, double alpha);

    /** {@code x *= alpha}. */
    void scale(Tensor x, double alpha);

    /** Sum of squares of all elements, in fp32 or better, returned to the host (synchronises). */
    double sumOfSquares(Tensor x);

    // ---- GEMM ---------------------------------------------------------------------------------------------

    /**
     * {@code c = alpha · op(a) · op(b) + beta · c} for 2-D tensors, where {@code op} transposes when asked.
     * With {@code beta = 1} it accumulates (parameter gradients).
     */
    void matmul(Tensor a, boolean transA, Tensor b, boolean transB, Tensor c, double alpha, double beta);

    // ---- embedding ----------------------------------------------------------------------------------------

    /** {@code out[i] = weight[ids[i]]}; ids I32 {@code [n]}, weight {@code [vocab, hidden]}, out {@code [n, hidden]}. */
    void embeddingForward(Tensor weight, Tensor ids, Tensor out);

    /** {@code dWeight[ids[i]] += dOut[i]} (accumulated). */
    void embeddingBackward(Tensor dOut, Tensor ids, Tensor dWeight);

    // ---- RMSNorm ------------------------------------------------------------------------------------------

    /**
     * {@code out = x / sqrt(mean(x²) + eps) · weight} per row of {@code x [n, hidden]};
     * {@code rstd} {@code [n]} ({@link #statsType()}) receives {@code 1/sqrt(mean(x²)+eps)} for the backward.
     */
    void rmsNormForward(Tensor x, Tensor weight, double eps, Tensor out, Tensor rstd);

    /** {@code dx} overwritten; {@code dWeight} accumulated. */
    void rmsNormBackward(Tensor dOut, Tensor x, Tensor weight, Tensor rstd, Tensor dx, Tensor dWeight);

    // ---- rotary embedding ---------------------------------------------------------------------------------

    /**
     * Rotates {@code x [batch, tokens, heads, headDim]} in Hugging Face's rotate-half layout by angle
     * {@code position · invFreq[j]}, where {@code positions} I32 {@code [batch, tokens]} are the tokens'
     * <em>global</em> positions and {@code invFreq} F32 {@code [headDim/2]} already holds theta and any
     * rope scaling. With {@code inverse} it rotates by the negative angle, which is the backward.
     * {@code out} may be {@code x}.
     */
    void rope(Tensor x, Tensor positions, Tensor invFreq, boolean inverse, Tensor out);

    // ---- SwiGLU -------------------------------------------------------------------------------------------

    /** {@code out = silu(gate) · up}, all {@code [n, ffn]}. */
    void swiGluForward(Tensor gate, Tensor up, Tensor out);

    /** {@code dGate}, {@code dUp} overwritten. */
    void swiGluBackward(Tensor dOut, Tensor gate, Tensor up, Tensor dGate, Tensor dUp);

    // ---- attention in blocks ------------------------------------------------------------------------------

    /**
     * Attention of one query block against one key/value block:
     * {@code q [b, tq, hq, d]}, {@code k, v [b, tk, hkv, d]} with {@code hq % hkv == 0} (GQA: query head
     * {@code h} reads kv head {@code h / (hq/hkv)}), scores scaled by {@code scale}.
     * {@link AttentionMask#CAUSAL_DIAGONAL} requires {@code tq == tk} and masks key {@code j > i};
     * {@link AttentionMask#FULL} masks nothing. Writes {@code out [b, tq, hq, d]} and
     * {@code lse [b, hq, tq]} ({@link #statsType()}).
     */
    void attentionForward(Tensor q, Tensor k, Tensor v, AttentionMask mask, double scale, Tensor out, Tensor lse);

    /**
     * Backward of one block given the <em>final</em> (merged over all blocks) {@code out} and {@code lse}.
     * Overwrites {@code dq [b, tq, hq, d]}, {@code dk}, {@code dv [b, tk, hkv, d]}; the caller sums the
     * contributions of every block.
     */
    void attentionBackward(Tensor dOut, Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v,
                           AttentionMask mask, double scale, Tensor dq, Tensor dk, Tensor dv);

    /**
     * Merges a block result into the running one, in fp32 or better:
     * {@code out ← out − σ(lseB − lse)·(out − outB)}, {@code lse ← lse − log σ(lse − lseB)}.
     * A running {@code lse} of −∞ means "empty" and takes the block as it is.
     */
    void attentionMerge(Tensor out, Tensor lse, Tensor outB, Tensor lseB);

    // ---- loss ---------------------------------------------------------------------------------------------

    /**
     * Cross-entropy over a chunk of logits, fused with its gradient, in place: on entry {@code logits [n, vocab]},
     * on exit {@code dLogits = (softmax − onehot(target)) · gradScale}, rows whose target is {@code ignoreIndex}
     * zeroed. Returns the <em>sum</em> of the per-token losses of the non-ignored rows (synchronises).
     */
    double crossEntropyForwardBackward(Tensor logits, Tensor targets, int ignoreIndex, double gradScale);

    // ---- optimizer ----------------------------------------------------------------------------------------

    /**
     * One AdamW step (decoupled weight decay): {@code grad} is multiplied by {@code gradScale} first (clipping,
     * accumulation averaging). {@code master} holds fp32 master weights when {@code param} is stored in lower
     * precision, else it is {@code null} and {@code param} is updated directly. {@code step} counts from 1.
     */
    void adamW(Tensor param, Tensor master, Tensor grad, Tensor m, Tensor v, double lr, double beta1, double beta2,
               double eps, double weightDecay, long step, double gradScale);

    // ---- host offload -------------------------------------------------------------------------------------

    /**
     * A tensor's contents parked in host memory, so that the device memory it held serves other work between, say,
     * a layer's forward and its backward. Close it once restored, or to drop it.
     */
    interface Parked extends AutoCloseable {
        /** Starts the copy back to the device where it has not started; later work does not wait for it. */
        void prefetch();

        /** The parked contents in a new device tensor (the caller's), ready for any work queued after this call. */
        Tensor restore();

        @Override
        void close();
    }

    /**
     * Starts copying {@code t} to host memory and returns the parked copy; {@code t} may be closed at once, as the
     * backend orders the copy before any reuse of its memory. This default keeps a second device copy: right for a
     * backend whose "device" is host memory already, the CPU's.
     */
    default Parked park(Tensor t) {
        Tensor copy = allocate(t.dtype(), t.shape());
        copy(t, copy);
        return new Parked() {
            private Tensor held = copy;

            @Override
            public void prefetch() {
            }

            @Override
            public Tensor restore() {
                if (held == null) {
                    throw new IllegalStateException("a parked tensor restored twice");
                }
                Tensor out = held;
                held = null;
                return out;
            }

            @Override
            public void close() {
                if (held != null) {
                    held.close();
                    held = null;
                }
            }
        };
    }

    /** The most device memory held at once since the last reset; 0 for a backend without device memory. */
    default long peakDeviceBytes() {
        return 0;
    }

    default void resetPeakDeviceBytes() {
    }

    /**
     * The backend that does the work: this one, or, for a wrapper that only watches the calls (an op profile), the
     * backend it wraps. Code that needs a particular implementation, e.g. {@code CudaBackend} for its streams, asks
     * this rather than the wrapper, so that it behaves the same with the wrapper on.
     */
    default Backend unwrap() {
        return this;
    }

    /** Waits for all queued work (a no-op on the CPU). */
    default void synchronize() {
    }

    @Override
    default void close() {
    }
}
