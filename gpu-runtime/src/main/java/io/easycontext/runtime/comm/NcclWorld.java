package io.easycontext.runtime.comm;

import io.easycontext.runtime.backend.cuda.CudaBackend;
import io.easycontext.runtime.cuda.Cuda;
import io.easycontext.runtime.cuda.Nccl;
import org.bytedeco.cuda.nccl.ncclComm;
import org.bytedeco.javacpp.PointerPointer;

import java.util.ArrayList;
import java.util.List;

import static org.bytedeco.cuda.global.nccl.ncclCommAbort;
import static org.bytedeco.cuda.global.nccl.ncclCommInitAll;

/**
 * The NCCL communicator of one node's GPUs, created at once for all of them ({@code ncclCommInitAll}) in one JVM;
 * each GPU's thread then takes its rank with {@link #communicator(int, CudaBackend)}. Several nodes will create
 * theirs with {@code ncclCommInitRank} and a unique id exchanged out of band.
 *
 * <p>The world also owns the abort: when one rank fails, its peers may be spinning in an NCCL kernel that waits for
 * it. {@link #abort(Throwable)} marks the world failed, so that no rank issues another NCCL call (each throws
 * {@link CommAbortedException} instead), and aborts every communicator of the world, sub-communicators included,
 * which ends the kernels that wait.
 */
public final class NcclWorld {
    private final PointerPointer<ncclComm> comms;
    private final List<Integer> gpus;
    private final List<ncclComm> live = new ArrayList<>();
    private volatile Throwable abortCause;

    private NcclWorld(PointerPointer<ncclComm> comms, List<Integer> gpus) {
        this.comms = comms;
        this.gpus = List.copyOf(gpus);
    }

    /** A communicator over GPUs {@code 0 … gpus-1}. */
    public static NcclWorld ofLocalGpus(int gpus) {
        List<Integer> ordinals = new ArrayList<>();
        for (int i = 0; i < gpus; i++) {
            ordinals.add(i);
        }
        return of(ordinals);
    }

    /** A communicator over these GPUs of this node, rank {@code i} on {@code gpus.get(i)}. */
    public static NcclWorld of(List<Integer> gpus) {
        int available = Cuda.devices().size();
        int[] devices = new int[gpus.size()];
        for (int i = 0; i < devices.length; i++) {
            devices[i] = gpus.get(i);
            if (devices[i] < 0 || devices[i] >= available) {
                throw new IllegalArgumentException("GPU " + devices[i] + " does not exist: this node has " + available
                        + " (0 … " + (available - 1) + ")");
            }
        }
        PointerPointer<ncclComm> comms = new PointerPointer<>(devices.length);
        Nccl.check(ncclCommInitAll(comms, devices.length, devices), "ncclCommInitAll");
        return new NcclWorld(comms, gpus);
    }

    public int size() {
        return gpus.size();
    }

    /** The GPU that rank {@code rank} drives. */
    public int gpu(int rank) {
        return gpus.get(rank);
    }

    /** Rank {@code rank}'s communicator, for the thread that drives GPU {@code gpu(rank)} through {@code backend}. */
    public NcclCommunicator communicator(int rank, CudaBackend backend) {
        if (rank < 0 || rank >= size()) {
            throw new IllegalArgumentException("rank " + rank + " of " + size());
        }
        if (backend.device().ordinal() != gpu(rank)) {
            throw new IllegalArgumentException("rank " + rank + " drives GPU " + gpu(rank) + ", not the backend's "
                    + backend.device().ordinal());
        }
        return new NcclCommunicator(new ncclComm(comms.get(rank)), backend, this);
    }

    /** Called by every communicator this world hands out or splits off, so that an abort reaches it. */
    synchronized void register(ncclComm comm) {
        if (abortCause != null) {
            throw aborted();
        }
        live.add(comm);
    }

    /** A communicator destroyed in an orderly way: an abort must no longer touch it. */
    synchronized void unregister(ncclComm comm) {
        live.removeIf(c -> c.address() == comm.address());
    }

    /** Throws where the world was aborted; every NCCL call of its communicators checks this first. */
    void checkAlive() {
        if (abortCause != null) {
            throw aborted();
        }
    }

    boolean isAborted() {
        return abortCause != null;
    }

    /** Ends the world after a rank failed; the first cause is kept, later calls do nothing. */
    public void abort(Throwable cause) {
        List<ncclComm> toAbort;
        synchronized (this) {
            if (abortCause != null) {
                return;
            }
            abortCause = cause;
            toAbort = new ArrayList<>(live);
            live.clear();
        }
        for (ncclComm c : toAbort) {
            // Best effort: the world is failing already, and the cause that matters is the first one.
            ncclCommAbort(c);
        }
    }

    private CommAbortedException aborted() {
        return new CommAbortedException("the NCCL world was aborted because a rank failed: "
                + abortCause.getMessage(), abortCause);
    }
}
