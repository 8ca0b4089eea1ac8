package io.easycontext.runtime.parallel;

import io.easycontext.runtime.backend.AttentionMask;
import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tensor.Tensor;

import java.util.Arrays;

/**
 * One block of attention (a query chunk against a key/value chunk) folded into running results, for every
 * sequence-parallel schedule.
 *
 * <p>Forward: the block's {@code (out_B, lse_B)} merge into the chunk's running {@code (out, lse)}
 * (see {@link Backend#attentionMerge}); a running lse of −∞ is "empty". Backward: the block's gradients, computed
 * from the <em>final</em> {@code out} and {@code lse}, which the caller adds into {@code dq}, {@code dk}, {@code dv}.
 * A block's own results live in scratch that is allocated once (for the largest block where the caller names it; a
 * smaller block takes the start of a larger one's) and overwritten by the next block.
 */
final class BlockAttention {
    private final Backend backend;
    private final Scratch scratch;
    private final double scale;
    private Tensor blockOut;
    private Tensor blockLse;
    private Tensor dqBlock;
    private Tensor dkBlock;
    private Tensor dvBlock;

    /** Query and key tokens the scratch is first allocated for; 0: each block's own. */
    private final int queryTokens;
    private final int keyTokens;

    BlockAttention(Scratch scratch, double scale) {
        this(scratch, scale, 0, 0);
    }

    /**
     * Blocks of varying size: each buffer is allocated once, on first use, for up to {@code queryTokens} query and
     * {@code keyTokens} key tokens, and smaller blocks use its front, so no shape leaves a buffer behind.
     */
    BlockAttention(Scratch scratch, double scale, int queryTokens, int keyTokens) {
        this.backend = scratch.backend;
        this.scratch = scratch;
        this.scale = scale;
        this.queryTokens = queryTokens;
        this.keyTokens = keyTokens;
    }

    /** Sets running results to "empty": out 0, lse −∞. */
    static void clear(Backend backend, Tensor out, Tensor lse) {
        backend.fill(out, 0);
        backend.fill(lse, Double.NEGATIVE_INFINITY);
    }

    /** The block's own {@code (out, lse)}, valid until the next block. */
    Tensor[] compute(Tensor q, Tensor k, Tensor v, AttentionMask mask) {
        blockOut = reuse(blockOut, q.dtype(), 1, queryTokens, q.shape());
        blockLse = reuse(blockLse, backend.statsType(), 2, queryTokens, q.dim(0), q.dim(2), q.dim(1));
        Tensor out = fit(blockOut, q.shape());
        Tensor lse = fit(blockLse, q.dim(0), q.dim(2), q.dim(1));
        backend.attentionForward(q, k, v, mask, scale, out, lse);
        return new Tensor[] {out, lse};
    }

    /** Computes the block and merges it into the running {@code out}, {@code lse}. */
    void forward(Tensor q, Tensor k, Tensor v, AttentionMask mask, Tensor out, Tensor lse) {
        Tensor[] block = compute(q, k, v, mask);
        backend.attentionMerge(out, lse, block[0], block[1]);
    }

    /** The block's own {@code (dq, dk, dv)}, valid until the next block. */
    Tensor[] gradients(Tensor dOut, Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v, AttentionMask mask) {
        Tensor dq = dqScratch(q);
        dkBlock = reuse(dkBlock, k.dtype(), 1, keyTokens, k.shape());
        dvBlock = reuse(dvBlock, v.dtype(), 1, keyTokens, v.shape());
        Tensor dk = fit(dkBlock, k.shape());
        Tensor dv = fit(dvBlock, v.shape());
        backend.attentionBackward(dOut, out, lse, q, k, v, mask, scale, dq, dk, dv);
        return new Tensor[] {dq, dk, dv};
    }

    /**
     * The block dq's memory for queries shaped like {@code q}, for a caller to fill when it knows the block's own dq
     * is not needed (already added, or not computed); the next {@link #gradients} overwrites it.
     */
    Tensor dqScratch(Tensor q) {
        dqBlock = reuse(dqBlock, q.dtype(), 1, queryTokens, q.shape());
        return fit(dqBlock, q.shape());
    }

    /**
     * {@code held} where it has room for {@code shape} (dist_flash's half blocks, the ring's smaller ones), else a new
     * buffer for it, its {@code tokenAxis} widened to {@code capacity} tokens; with a capacity the old one is released
     * (nothing reads a block's results past the next block).
     */
    private Tensor reuse(Tensor held, DType dtype, int tokenAxis, int capacity, int... shape) {
        if (held != null && held.dtype() == dtype && held.numel() >= numel(shape)) {
            return held;
        }
        if (held != null && capacity > 0) {
            scratch.release(held);
        }
        int[] alloc = shape.clone();
        alloc[tokenAxis] = Math.max(alloc[tokenAxis], capacity);
        return scratch.allocate(dtype, alloc);
    }

    /** The front of {@code buffer} as {@code shape}: the buffer itself when it is that shape. */
    private Tensor fit(Tensor buffer, int... shape) {
        return Arrays.equals(buffer.shape(), shape) ? buffer : backend.view(buffer, 0, shape);
    }

    private static long numel(int[] shape) {
        long n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }
}
