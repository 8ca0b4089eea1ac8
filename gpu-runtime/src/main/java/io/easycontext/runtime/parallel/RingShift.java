package io.easycontext.runtime.parallel;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.comm.Communicator;
import io.easycontext.runtime.comm.P2POp;
import io.easycontext.runtime.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/** One step around a ring: every rank sends tensors to rank + 1 and receives the same number from rank − 1. */
final class RingShift {

    private RingShift() {
    }

    static void shift(Communicator ring, Backend backend, Tensor[] send, Tensor[] recv) {
        shiftAsync(ring, backend, send, recv).await();
    }

    /** {@link #shift} that runs beside this rank's next work until the returned handle is awaited. */
    static Communicator.Pending shiftAsync(Communicator ring, Backend backend, Tensor[] send, Tensor[] recv) {
        if (ring.size() == 1) {
            for (int i = 0; i < send.length; i++) {
                backend.copy(send[i], recv[i]);
            }
            return Communicator.Pending.DONE;
        }
        int next = (ring.rank() + 1) % ring.size();
        int prev = (ring.rank() - 1 + ring.size()) % ring.size();
        List<P2POp> ops = new ArrayList<>(2 * send.length);
        for (Tensor t : send) {
            ops.add(P2POp.send(t, next));
        }
        for (Tensor t : recv) {
            ops.add(P2POp.recv(t, prev));
        }
        return ring.sendRecvAsync(ops);
    }
}
