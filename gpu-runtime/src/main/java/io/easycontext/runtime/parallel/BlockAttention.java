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
 * from the <em>final</em> {@code out} and {@code lse}, are added into {@code dq}, {@code dk}, {@code dv}. A block's
 * own results live in scratch that is allocated once per shape (a smaller block takes the start of a larger one's)
 * and overwritten by the next block.
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

    BlockAttention(Scratch scratch, double scale) {
        this.backend = scratch.backend;
        this.scratch = scratch;
        this.scale = scale;
    }

    /** Sets running results to "empty": out 0, lse −∞. */
    static void clear(Backend backend, Tensor out, Tensor lse) {
        backend.fill(out, 0);
        backend.fill(lse, Double.NEGATIVE_INFINITY);
    }

    /** The block's own {@code (out, lse)}, valid until the next block. */
    Tensor[] compute(Tensor q, Tensor k, Tensor v, AttentionMask mask) {
        blockOut = reuse(blockOut, q.dtype(), q.shape());
        blockLse = reuse(blockLse, backend.statsType(), q.dim(0), q.dim(2), q.dim(1));
        backend.attentionForward(q, k, v, mask, scale, blockOut, blockLse);
        return new Tensor[] {blockOut, blockLse};
    }

    /** Computes the block and merges it into the running {@code out}, {@code lse}. */
    void forward(Tensor q, Tensor k, Tensor v, AttentionMask mask, Tensor out, Tensor lse) {
        Tensor[] block = compute(q, k, v, mask);
        backend.attentionMerge(out, lse, block[0], block[1]);
    }

    /** The block's own {@code (dq, dk, dv)}, valid until the next block. */
    Tensor[] gradients(Tensor dOut, Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v, AttentionMask mask) {
        dqBlock = reuse(dqBlock, q.dtype(), q.shape());
        dkBlock = reuse(dkBlock, k.dtype(), k.shape());
        dvBlock = reuse(dvBlock, v.dtype(), v.shape());
        backend.attentionBackward(dOut, out, lse, q, k, v, mask, scale, dqBlock, dkBlock, dvBlock);
        return new Tensor[] {dqBlock, dkBlock, dvBlock};
    }

    /**
     * The block dq's memory for queries shaped like {@code q}, for a caller to fill when it knows the block's own dq
     * is not needed (already added, or not computed); the next {@link #gradients} overwrites it.
     */
    Tensor dqScratch(Tensor q) {
        dqBlock = reuse(dqBlock, q.dtype(), q.shape());
        return dqBlock;
    }

    /** Adds the block's gradients into {@code dq}, {@code dk}, {@code dv}. */
    void backward(Tensor dOut, Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v, AttentionMask mask,
                  Tensor dq, Tensor dk, Tensor dv) {
        Tensor[] g = gradients(dOut, out, lse, q, k, v, mask);
        backend.addScaledAccumulate(dq, g[0], 1.0);
        backend.addScaledAccumulate(dk, g[1], 1.0);
        backend.addScaledAccumulate(dv, g[2], 1.0);
    }

    /** {@code held} where it has room: itself, or a view of its start for a smaller block (dist_flash's halves). */
    private Tensor reuse(Tensor held, DType dtype, int... shape) {
        if (held == null || held.dtype() != dtype) {
            return scratch.allocate(dtype, shape);
        }
        if (Arrays.equals(held.shape(), shape)) {
            return held;
        }
        long numel = 1;
        for (int d : shape) {
            numel *= d;
        }
        return numel <= held.numel() ? backend.view(held, 0, shape) : scratch.allocate(dtype, shape);
    }
}
