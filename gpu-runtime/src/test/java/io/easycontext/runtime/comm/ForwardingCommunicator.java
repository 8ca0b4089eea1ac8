package io.easycontext.runtime.comm;

import io.easycontext.runtime.tensor.Tensor;

import java.util.List;

/**
 * A communicator that hands every call to another, each tensor first passed through {@link #unwrap} (for test
 * communicators that change one behaviour, or wrap tensors the inner world does not know), and whose
 * sub-communicators are decorated the same way ({@link #decorate}).
 */
public abstract class ForwardingCommunicator implements Communicator {
    protected final Communicator inner;

    protected ForwardingCommunicator(Communicator inner) {
        this.inner = inner;
    }

    /** The same decoration around a sub-communicator of the inner one. */
    protected abstract Communicator decorate(Communicator split);

    /** The tensor as the inner communicator takes it. */
    protected Tensor unwrap(Tensor t) {
        return t;
    }

    protected List<P2POp> unwrap(List<P2POp> ops) {
        return ops.stream().map(op -> new P2POp(op.kind(), unwrap(op.tensor()), op.peer())).toList();
    }

    @Override
    public int rank() {
        return inner.rank();
    }

    @Override
    public int size() {
        return inner.size();
    }

    @Override
    public void sendRecv(List<P2POp> ops) {
        inner.sendRecv(unwrap(ops));
    }

    @Override
    public Pending sendRecvAsync(List<P2POp> ops) {
        return inner.sendRecvAsync(unwrap(ops));
    }

    @Override
    public void allReduce(Tensor tensor, ReduceOp op) {
        inner.allReduce(unwrap(tensor), op);
    }

    @Override
    public double[] allReduce(double[] values, ReduceOp op) {
        return inner.allReduce(values, op);
    }

    @Override
    public void allGather(Tensor send, Tensor recv) {
        inner.allGather(unwrap(send), unwrap(recv));
    }

    @Override
    public Pending allGatherAsync(Tensor send, Tensor recv) {
        return inner.allGatherAsync(unwrap(send), unwrap(recv));
    }

    @Override
    public void reduceScatter(Tensor send, Tensor recv, ReduceOp op) {
        inner.reduceScatter(unwrap(send), unwrap(recv), op);
    }

    @Override
    public void allToAll(Tensor send, Tensor recv, int scatterDim, int gatherDim) {
        inner.allToAll(unwrap(send), unwrap(recv), scatterDim, gatherDim);
    }

    @Override
    public void broadcast(Tensor tensor, int root) {
        inner.broadcast(unwrap(tensor), root);
    }

    @Override
    public void barrier() {
        inner.barrier();
    }

    @Override
    public Communicator split(int color, int key) {
        return decorate(inner.split(color, key));
    }

    @Override
    public void close() {
        inner.close();
    }
}
