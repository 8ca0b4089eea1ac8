package io.easycontext.runtime.optim.zero;

import io.easycontext.runtime.tensor.DType;

import java.util.List;

/**
 * The AdamW state of one rank's shard (fp32 master weights where the parameters are stored in lower precision, and
 * both moments) wherever it lives, and the update that uses it.
 */
public interface ShardState extends AutoCloseable {

    /** Checkpoint names of the state's vectors, PyTorch's for the moments. */
    String MASTER = "master";
    String EXP_AVG = "exp_avg";
    String EXP_AVG_SQ = "exp_avg_sq";

    /** One vector of the state over the whole shard, read and written in ranges for a checkpoint. */
    interface Vector {
        String name();

        DType dtype();

        long length();

        /** Elements {@code [from, from + n)}; waits for any update in flight. */
        double[] read(long from, int n);

        /** Overwrites elements from {@code from}, exactly where the type holds the values. */
        void write(long from, double[] values);
    }

    /**
     * AdamW step {@code step} (from 1) on the shard's values, from its reduced gradients scaled by
     * {@code gradScale}. The shard's values hold the result on the backend's stream when this returns.
     */
    void update(double lr, long step, double gradScale);

    /** Master weights (if any), first and second moment, in that order. */
    List<Vector> vectors();

    @Override
    void close();
}
