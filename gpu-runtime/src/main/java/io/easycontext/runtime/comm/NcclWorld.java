package io.easycontext.runtime.comm;

import io.easycontext.runtime.backend.cuda.CudaBackend;
import io.easycontext.runtime.cuda.Cuda;
import io.easycontext.runtime.cuda.Nccl;
import org.bytedeco.cuda.nccl.ncclComm;
import org.bytedeco.javacpp.PointerPointer;

import static org.bytedeco.cuda.global.nccl.ncclCommInitAll;

/**
 * The NCCL communicator of one node's GPUs, created at once for all of them ({@code ncclCommInitAll}) in one JVM;
 * each GPU's thread then takes its rank with {@link #communicator(int, CudaBackend)}. Several nodes will create
 * theirs with {@code ncclCommInitRank} and a unique id exchanged out of band.
 */
public final class NcclWorld {
    private final PointerPointer<ncclComm> comms;
    private final int size;

    private NcclWorld(PointerPointer<ncclComm> comms, int size) {
        this.comms = comms;
        this.size = size;
    }

    /** A communicator over GPUs {@code 0 … gpus-1}. */
    public static NcclWorld ofLocalGpus(int gpus) {
        int available = Cuda.devices().size();
        if (gpus < 1 || gpus > available) {
            throw new IllegalArgumentException("asked for " + gpus + " GPUs; this node has " + available);
        }
        int[] devices = new int[gpus];
        for (int i = 0; i < gpus; i++) {
            devices[i] = i;
        }
        PointerPointer<ncclComm> comms = new PointerPointer<>(gpus);
        Nccl.check(ncclCommInitAll(comms, gpus, devices), "ncclCommInitAll");
        return new NcclWorld(comms, gpus);
    }

    public int size() {
        return size;
    }

    /** Rank {@code rank}'s communicator, for the thread that drives GPU {@code rank} through {@code backend}. */
    public NcclCommunicator communicator(int rank, CudaBackend backend) {
        if (rank < 0 || rank >= size) {
            throw new IllegalArgumentException("rank " + rank + " of " + size);
        }
        return new NcclCommunicator(new ncclComm(comms.get(rank)), backend);
    }
}
