package io.easycontext.runtime.comm;

import io.easycontext.runtime.tensor.Tensor;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * {@link Communicator} for N simulated ranks on N threads of one JVM, over CPU-backend tensors. Each rank owns one
 * handle and must only call it from its own thread.
 *
 * <p>Reductions add in rank order in double precision and round once to the tensor's type, so every rank gets the
 * same bits and a sum equals the single-rank sum of the same partials. All-reduce splits the work: rank {@code r}
 * reduces the {@code r}-th slice of the elements and then every rank copies all slices, so a world of N ranks does
 * the arithmetic once, not N times.
 */
public final class InProcessCommunicator implements Communicator {

    /** Long enough for a large model's CPU forward between two collectives; a hang ends in an abort, not forever. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(30);

    private record Reduction(double[] values, double[] slice) {
    }

    private final InProcessGroup group;
    private final int rank;
    private long seq;

    private InProcessCommunicator(InProcessGroup group, int rank) {
        this.group = group;
        this.rank = rank;
    }

    /** One handle per rank of a new world of {@code size} ranks. */
    public static List<InProcessCommunicator> create(int size) {
        return create(size, DEFAULT_TIMEOUT);
    }

    public static List<InProcessCommunicator> create(int size, Duration timeout) {
        if (size < 1) {
            throw new IllegalArgumentException("a world needs at least one rank, not " + size);
        }
        InProcessGroup world = new InProcessGroup(new InProcessWorld(timeout), size);
        List<InProcessCommunicator> handles = new ArrayList<>(size);
        for (int r = 0; r < size; r++) {
            handles.add(new InProcessCommunicator(world, r));
        }
        return handles;
    }

    /** Fails the whole world (every group split from it): ranks blocked in any collective throw instead of hanging. */
    public void abort(Throwable cause) {
        group.world().abort(cause);
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int size() {
        return group.size;
    }

    @Override
    public void sendRecv(List<P2POp> ops) {
        for (P2POp op : ops) {
            checkPeer(op.peer());
        }
        for (P2POp op : ops) {
            if (op.kind() == P2POp.Kind.SEND) {
                group.post(rank, op.peer(), HostTensors.read(op.tensor()));
            }
        }
        for (P2POp op : ops) {
            if (op.kind() == P2POp.Kind.RECV) {
                double[] data = group.take(op.peer(), rank);
                if (data.length != op.tensor().numel()) {
                    throw new IllegalStateException("rank " + rank + " expected " + op.tensor().numel()
                            + " elements from rank " + op.peer() + " but received " + data.length);
                }
                HostTensors.write(op.tensor(), data, 0);
            }
        }
    }

    @Override
    public void allReduce(Tensor tensor, ReduceOp op) {
        HostTensors.write(tensor, reduce("allReduce", HostTensors.read(tensor), op), 0);
    }

    @Override
    public double[] allReduce(double[] values, ReduceOp op) {
        return reduce("allReduce(host)", values.clone(), op);
    }

    private double[] reduce(String name, double[] mine, ReduceOp op) {
        int n = mine.length;
        int size = group.size;
        double[] slice = new double[bound(n, rank + 1) - bound(n, rank)];
        Object[] all = group.rendezvous(rank, seq++, name, new Reduction(mine, slice));
        double[][] values = new double[size][];
        for (int r = 0; r < size; r++) {
            values[r] = ((Reduction) all[r]).values;
            requireLength(name, r, values[r].length, n);
        }
        for (int i = bound(n, rank), j = 0; i < bound(n, rank + 1); i++, j++) {
            slice[j] = combine(values, i, op);
        }
        group.await(name);
        double[] result = new double[n];
        for (int r = 0; r < size; r++) {
            double[] s = ((Reduction) all[r]).slice;
            System.arraycopy(s, 0, result, bound(n, r), s.length);
        }
        return result;
    }

    /** Element {@code i} reduced over the ranks, in rank order. */
    private static double combine(double[][] values, int i, ReduceOp op) {
        double acc = values[0][i];
        for (int r = 1; r < values.length; r++) {
            acc = op == ReduceOp.MAX ? Math.max(acc, values[r][i]) : acc + values[r][i];
        }
        return op == ReduceOp.AVG ? acc / values.length : acc;
    }

    /** Start of rank {@code r}'s slice of {@code n} elements. */
    private int bound(int n, int r) {
        return (int) ((long) n * r / group.size);
    }

    @Override
    public void allGather(Tensor send, Tensor recv) {
        int n = Math.toIntExact(send.numel());
        requireLength("allGather recv", rank, recv.numel(), (long) n * group.size);
        gather(HostTensors.read(send), recv, n);
    }

    /**
     * Reads {@code send} now and meets the other ranks only in {@link Pending#await()}: until then {@code recv} holds
     * whatever it held, so a caller that reads it before awaiting sees stale values, as it could on a GPU. The
     * gathers of all ranks are matched in the order they are awaited.
     */
    @Override
    public Pending allGatherAsync(Tensor send, Tensor recv) {
        int n = Math.toIntExact(send.numel());
        requireLength("allGather recv", rank, recv.numel(), (long) n * group.size);
        double[] mine = HostTensors.read(send);
        boolean[] done = {false};
        return () -> {
            if (done[0]) {
                return;
            }
            done[0] = true;
            gather(mine, recv, n);
        };
    }

    private void gather(double[] mine, Tensor recv, int n) {
        Object[] all = group.rendezvous(rank, seq++, "allGather", mine);
        double[] out = new double[n * group.size];
        for (int r = 0; r < group.size; r++) {
            double[] part = (double[]) all[r];
            requireLength("allGather", r, part.length, n);
            System.arraycopy(part, 0, out, r * n, n);
        }
        HostTensors.write(recv, out, 0);
    }

    @Override
    public void reduceScatter(Tensor send, Tensor recv, ReduceOp op) {
        int m = Math.toIntExact(recv.numel());
        requireLength("reduceScatter send", rank, send.numel(), (long) m * group.size);
        Object[] all = group.rendezvous(rank, seq++, "reduceScatter", HostTensors.read(send));
        double[][] values = new double[group.size][];
        for (int r = 0; r < group.size; r++) {
            values[r] = (double[]) all[r];
            requireLength("reduceScatter", r, values[r].length, (long) m * group.size);
        }
        double[] out = new double[m];
        for (int i = 0; i < m; i++) {
            out[i] = combine(values, rank * m + i, op);
        }
        HostTensors.write(recv, out, 0);
    }

    @Override
    public void allToAll(Tensor send, Tensor recv, int scatterDim, int gatherDim) {
        int size = group.size;
        SplitLayout from = new SplitLayout(send.shape(), scatterDim, size, "allToAll scatter");
        SplitLayout to = new SplitLayout(recv.shape(), gatherDim, size, "allToAll gather");
        int[] partFrom = SplitLayout.partShape(send.shape(), scatterDim, size);
        int[] partTo = SplitLayout.partShape(recv.shape(), gatherDim, size);
        if (!Arrays.equals(partFrom, partTo)) {
            throw new IllegalArgumentException("allToAll: send " + Arrays.toString(send.shape()) + " split along "
                    + scatterDim + " gives parts " + Arrays.toString(partFrom) + " but recv "
                    + Arrays.toString(recv.shape()) + " gathered along " + gatherDim + " needs "
                    + Arrays.toString(partTo));
        }
        Object[] all = group.rendezvous(rank, seq++, "allToAll", HostTensors.read(send));
        double[] out = new double[Math.toIntExact(recv.numel())];
        for (int r = 0; r < size; r++) {
            double[] theirs = (double[]) all[r];
            requireLength("allToAll", r, theirs.length, send.numel());
            to.insert(from.extract(theirs, rank), out, r);
        }
        HostTensors.write(recv, out, 0);
    }

    @Override
    public void broadcast(Tensor tensor, int root) {
        checkPeer(root);
        Object[] all = group.rendezvous(rank, seq++, "broadcast", rank == root ? HostTensors.read(tensor) : null);
        double[] value = (double[]) all[root];
        requireLength("broadcast", root, value.length, tensor.numel());
        if (rank != root) {
            HostTensors.write(tensor, value, 0);
        }
    }

    @Override
    public void barrier() {
        group.rendezvous(rank, seq++, "barrier", null);
    }

    @Override
    public Communicator split(int color, int key) {
        if (color < 0) {
            throw new IllegalArgumentException("split color must be ≥ 0, not " + color);
        }
        long id = seq++;
        Object[] all = group.rendezvous(rank, id, "split", new int[] {color, key});
        List<Integer> members = new ArrayList<>();
        for (int r = 0; r < group.size; r++) {
            if (((int[]) all[r])[0] == color) {
                members.add(r);
            }
        }
        members.sort(Comparator.<Integer>comparingInt(r -> ((int[]) all[r])[1]).thenComparingInt(r -> r));
        InProcessGroup child = group.child("split#" + id + "/color" + color, members.size());
        return new InProcessCommunicator(child, members.indexOf(rank));
    }

    private void checkPeer(int peer) {
        if (peer < 0 || peer >= group.size) {
            throw new IllegalArgumentException("peer rank " + peer + " is outside a group of " + group.size);
        }
    }

    private static void requireLength(String what, int fromRank, long actual, long expected) {
        if (actual != expected) {
            throw new IllegalArgumentException(what + ": rank " + fromRank + " has " + actual + " elements where "
                    + expected + " are needed");
        }
    }

    @Override
    public String toString() {
        return "InProcessCommunicator[rank " + rank + " of " + group.size + "]";
    }
}
