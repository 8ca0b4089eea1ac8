package io.easycontext.runtime.parallel;

import io.easycontext.runtime.backend.cpu.CpuTensor;
import io.easycontext.runtime.comm.Communicator;
import io.easycontext.runtime.comm.P2POp;
import io.easycontext.runtime.comm.ReduceOp;
import io.easycontext.runtime.tensor.Tensor;

import java.util.Arrays;
import java.util.List;

/**
 * A communicator whose asynchronous transfers happen only when awaited: receive buffers are poisoned (NaN) until
 * then, and send buffers are read only then — the worst a GPU's communication stream may do. An attention that
 * reads a block before awaiting it, or overwrites one in flight, then gives wrong answers on the CPU too.
 */
final class DeferredTransfers implements Communicator {
    private final Communicator inner;

    DeferredTransfers(Communicator inner) {
        this.inner = inner;
    }

    @Override
    public Pending sendRecvAsync(List<P2POp> ops) {
        for (P2POp op : ops) {
            if (op.kind() == P2POp.Kind.RECV) {
                CpuTensor t = CpuTensor.of(op.tensor());
                Arrays.fill(t.data, t.offset, t.offset + Math.toIntExact(t.numel()), Double.NaN);
            }
        }
        // The sends read their buffers only now, as late as a GPU's transfer may: an overwrite before the await
        // sends the wrong values, and the attention's result shows it.
        return () -> inner.sendRecv(ops);
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
        inner.sendRecv(ops);
    }

    @Override
    public void allReduce(Tensor tensor, ReduceOp op) {
        inner.allReduce(tensor, op);
    }

    @Override
    public double[] allReduce(double[] values, ReduceOp op) {
        return inner.allReduce(values, op);
    }

    @Override
    public void allGather(Tensor send, Tensor recv) {
        inner.allGather(send, recv);
    }

    @Override
    public void reduceScatter(Tensor send, Tensor recv, ReduceOp op) {
        inner.reduceScatter(send, recv, op);
    }

    @Override
    public void allToAll(Tensor send, Tensor recv, int scatterDim, int gatherDim) {
        inner.allToAll(send, recv, scatterDim, gatherDim);
    }

    @Override
    public void broadcast(Tensor tensor, int root) {
        inner.broadcast(tensor, root);
    }

    @Override
    public void barrier() {
        inner.barrier();
    }

    @Override
    public Communicator split(int color, int key) {
        return new DeferredTransfers(inner.split(color, key));
    }
}
