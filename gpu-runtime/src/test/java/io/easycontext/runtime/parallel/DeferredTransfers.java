package io.easycontext.runtime.parallel;

import io.easycontext.runtime.backend.cpu.CpuTensor;
import io.easycontext.runtime.comm.Communicator;
import io.easycontext.runtime.comm.P2POp;
import io.easycontext.runtime.comm.ForwardingCommunicator;

import java.util.Arrays;
import java.util.List;

/**
 * A communicator whose asynchronous transfers happen only when awaited: receive buffers are poisoned (NaN) until
 * then, and send buffers are read only then — the worst a GPU's communication stream may do. An attention that
 * reads a block before awaiting it, or overwrites one in flight, then gives wrong answers on the CPU too.
 */
final class DeferredTransfers extends ForwardingCommunicator {

    DeferredTransfers(Communicator inner) {
        super(inner);
    }

    @Override
    protected Communicator decorate(Communicator split) {
        return new DeferredTransfers(split);
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

    /** The world the inner communicator belongs to is closed by whoever made it. */
    @Override
    public void close() {
    }
}
