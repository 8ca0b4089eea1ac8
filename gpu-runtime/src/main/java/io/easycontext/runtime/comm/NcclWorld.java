package io.easycontext.runtime.comm;

import io.easycontext.runtime.backend.cuda.CudaBackend;
import io.easycontext.runtime.cuda.Cuda;
import io.easycontext.runtime.cuda.Nccl;
import org.bytedeco.cuda.nccl.ncclComm;
import org.bytedeco.cuda.nccl.ncclUniqueId;
import org.bytedeco.javacpp.PointerPointer;

import java.util.ArrayList;
import java.util.List;

import static org.bytedeco.cuda.global.nccl.ncclCommAbort;
import static org.bytedeco.cuda.global.nccl.ncclCommInitAll;
import static org.bytedeco.cuda.global.nccl.ncclCommInitRank;
import static org.bytedeco.cuda.global.nccl.ncclGetUniqueId;
import static org.bytedeco.cuda.global.nccl.ncclGroupEnd;
import static org.bytedeco.cuda.global.nccl.ncclGroupStart;

/**
 * The NCCL communicator of one node's GPUs, created at once for all of them ({@code ncclCommInitAll}) in one JVM;
 * each GPU's thread then takes its rank with {@link #communicator(int, CudaBackend)}. A world that spans several
 * processes (nodes) is made with {@link #ofUniqueId}: one process creates a {@link #newUniqueId() unique id}, the
 * launcher hands it to every process out of band (a file on shared storage, an environment variable), and each
 * process joins with its GPUs as a contiguous range of ranks ({@code ncclCommInitRank}). NCCL then finds its own
 * transport between the nodes (InfiniBand, RoCE or sockets); we add none.
 *
 * <p>The world also owns the abort: when one rank fails, its peers may be spinning in an NCCL kernel that waits for
 * it. {@link #abort(Throwable)} marks the world failed, so that no rank issues another NCCL call (each throws
 * {@link CommAbortedException} instead), and aborts every communicator of the world, sub-communicators included,
 * which ends the kernels that wait.
 */
public final class NcclWorld {
    /** The size of a unique id ({@code NCCL_UNIQUE_ID_BYTES}). */
    public static final int UNIQUE_ID_BYTES = 128;

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
        checkExist(gpus);
        int[] devices = gpus.stream().mapToInt(Integer::intValue).toArray();
        PointerPointer<ncclComm> comms = new PointerPointer<>(devices.length);
        Nccl.check(ncclCommInitAll(comms, devices.length, devices), "ncclCommInitAll");
        return new NcclWorld(comms, gpus);
    }

    /**
     * A new unique id for a world over several processes: created by one of them, handed to all (it names that
     * process's bootstrap address, so it is made where rank 0 runs).
     */
    public static byte[] newUniqueId() {
        ncclUniqueId id = new ncclUniqueId();
        Nccl.check(ncclGetUniqueId(id), "ncclGetUniqueId");
        byte[] bytes = new byte[UNIQUE_ID_BYTES];
        id.internal().get(bytes);
        return bytes;
    }

    /**
     * This process's part of a world of {@code worldSize} ranks: its GPUs {@code gpus} become ranks
     * {@code firstRank, firstRank + 1, …}. Blocks until every rank of the world has joined, so every process calls it
     * at about the same time; local rank {@code i} is then {@link #communicator(int, CudaBackend)}'s {@code i}.
     */
    public static NcclWorld ofUniqueId(byte[] uniqueId, int worldSize, int firstRank, List<Integer> gpus) {
        if (uniqueId.length != UNIQUE_ID_BYTES) {
            throw new IllegalArgumentException("an NCCL unique id has " + UNIQUE_ID_BYTES + " bytes, not "
                    + uniqueId.length);
        }
        if (firstRank < 0 || firstRank + gpus.size() > worldSize) {
            throw new IllegalArgumentException("ranks " + firstRank + "…" + (firstRank + gpus.size() - 1)
                    + " do not fit a world of " + worldSize);
        }
        checkExist(gpus);
        ncclUniqueId id = new ncclUniqueId();
        id.internal().put(uniqueId);
        PointerPointer<ncclComm> comms = new PointerPointer<>(gpus.size());
        // One process joining with several GPUs must start them together: each init waits for all of the world.
        Nccl.check(ncclGroupStart(), "ncclGroupStart");
        for (int i = 0; i < gpus.size(); i++) {
            Cuda.device(gpus.get(i)).makeCurrent();
            Nccl.check(ncclCommInitRank(comms.position(i), worldSize, id, firstRank + i), "ncclCommInitRank");
        }
        comms.position(0);
        Nccl.check(ncclGroupEnd(), "ncclGroupEnd");
        return new NcclWorld(comms, gpus);
    }

    private static void checkExist(List<Integer> gpus) {
        int available = Cuda.devices().size();
        for (int g : gpus) {
            if (g < 0 || g >= available) {
                throw new IllegalArgumentException("GPU " + g + " does not exist: this node has " + available
                        + " (0 … " + (available - 1) + ")");
            }
        }
    }

    /** The ranks this process drives. */
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
