package io.easycontext.runtime.comm;

import io.easycontext.runtime.tensor.Tensor;

import java.util.List;

/**
 * Collective and point-to-point communication among the ranks of one group, modelled on NCCL so that a GPU
 * implementation maps one to one: every rank runs on its own thread and calls the same collectives in the same
 * order; tensors are contiguous and live on that rank's backend.
 *
 * <p>Every reduction is deterministic: values are combined in rank order, so every rank receives bit-identical
 * results and a run is reproducible. Exactness tests of the sequence-parallel modes depend on this.
 *
 * <p>Ranks are numbered within the group, {@code 0 … size()-1}; sub-groups come from {@link #split}.
 */
public interface Communicator extends AutoCloseable {

    /** This rank within the group. */
    int rank();

    /** Number of ranks in the group. */
    int size();

    /**
     * Executes a batch of sends and receives together, like an NCCL group: all of them are posted before any
     * completes, so any pattern (a ring shift, a pairwise exchange) is deadlock-free. Returns when every receive
     * has been written and every send buffer may be reused. A send to oneself is matched by a receive from oneself.
     */
    void sendRecv(List<P2POp> ops);

    /** Work started by {@link #sendRecvAsync}, to be waited for before its buffers are used again. */
    @FunctionalInterface
    interface Pending {
        Pending DONE = () -> { };

        /**
         * Orders what this rank does next after the transfers: on a GPU, work queued after this call waits for them
         * (the host does not); once it returns, receive buffers may be read and send buffers overwritten.
         */
        void await();
    }

    /**
     * {@link #sendRecv} that lets this rank go on with other work while the transfers run: what it queues next may
     * neither write a send buffer nor touch a receive buffer until {@link Pending#await()}. A ring sends the next
     * key/value block this way while it computes on the one in hand. This default transfers at once.
     */
    default Pending sendRecvAsync(List<P2POp> ops) {
        sendRecv(ops);
        return Pending.DONE;
    }

    /** In place: every rank's {@code tensor} becomes the reduction of all ranks' tensors. */
    void allReduce(Tensor tensor, ReduceOp op);

    default void allReduce(Tensor tensor) {
        allReduce(tensor, ReduceOp.SUM);
    }

    /**
     * Host values reduced across the group (target counts, loss sums, norms): small metadata that a GPU
     * implementation stages through a device buffer. Returns a new array; the argument is not modified.
     */
    double[] allReduce(double[] values, ReduceOp op);

    default double allReduce(double value, ReduceOp op) {
        return allReduce(new double[] {value}, op)[0];
    }

    /** {@code recv} holds {@code size() × send.numel()} elements: rank {@code i}'s {@code send} at element {@code i · send.numel()}. */
    void allGather(Tensor send, Tensor recv);

    /**
     * {@link #allGather} that lets this rank go on with other work while the gather runs, as
     * {@link #sendRecvAsync} does for transfers: {@code send} is read as it stands after the work queued so far, and
     * {@code recv} may be neither read nor written until {@link Pending#await()}; every rank must await its gathers
     * in the order it started them. ZeRO-3 gathers the next unit's parameters this way while the current one
     * computes. This default gathers at once.
     */
    default Pending allGatherAsync(Tensor send, Tensor recv) {
        allGather(send, recv);
        return Pending.DONE;
    }

    /**
     * {@code send} is cut into {@code size()} equal contiguous parts of {@code recv.numel()} elements; rank
     * {@code i} receives the reduction over all ranks of part {@code i}.
     */
    void reduceScatter(Tensor send, Tensor recv, ReduceOp op);

    /**
     * All-to-all with equal splits along a layout: {@code send} is cut into {@code size()} equal parts along
     * dimension {@code scatterDim}; part {@code j} goes to rank {@code j}; the parts received from ranks
     * {@code 0 … size()-1} are concatenated in that order along dimension {@code gatherDim} into {@code recv}. So
     * {@code recv}'s shape is {@code send}'s with {@code scatterDim} divided and {@code gatherDim} multiplied by
     * {@code size()}. Ulysses uses {@code [b, t/W, h, d] → [b, t, h/W, d]} (scatter heads, gather tokens) and back.
     * With {@code scatterDim == gatherDim == 0} it is NCCL's flat all-to-all.
     */
    void allToAll(Tensor send, Tensor recv, int scatterDim, int gatherDim);

    /** In place: every rank's {@code tensor} becomes {@code root}'s. */
    void broadcast(Tensor tensor, int root);

    /** Returns once every rank of the group has called it. */
    void barrier();

    /**
     * Collective over this group, like {@code ncclCommSplit}: ranks passing the same {@code color} (≥ 0) form a new
     * group, ordered by {@code key} and then by their rank here. Used for the sequence-parallel, data-parallel,
     * Ulysses and ring groups.
     */
    Communicator split(int color, int key);

    /** Releases this rank's handle; the group's other ranks are unaffected. */
    @Override
    default void close() {
    }
}
