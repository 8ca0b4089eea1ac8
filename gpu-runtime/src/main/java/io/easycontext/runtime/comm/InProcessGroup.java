package io.easycontext.runtime.comm;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The state one group of in-process ranks shares: a reusable barrier, the slots through which a collective's
 * contributions are exchanged, and one FIFO mailbox per ordered pair of ranks for point-to-point transfers.
 *
 * <p>Slots are double-buffered by collective number: a rank can only deposit into the buffer of collective
 * {@code n+2} after every rank has arrived at collective {@code n+1}, that is, after every rank has finished reading
 * collective {@code n}. So a collective needs one barrier, not an extra one to protect its readers.
 */
final class InProcessGroup {

    private record Slot(String op, long seq, Object payload) {
    }

    final int size;
    private final InProcessWorld world;
    private final Slot[][] slots;
    private final LinkedBlockingDeque<double[]>[] mailboxes;
    private final ConcurrentHashMap<String, InProcessGroup> children = new ConcurrentHashMap<>();

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition tripped = lock.newCondition();
    private int arrived;
    private long generation;

    @SuppressWarnings("unchecked")
    InProcessGroup(InProcessWorld world, int size) {
        this.world = world;
        this.size = size;
        this.slots = new Slot[2][size];
        this.mailboxes = new LinkedBlockingDeque[size * size];
        for (int i = 0; i < mailboxes.length; i++) {
            mailboxes[i] = new LinkedBlockingDeque<>();
        }
        world.register(this);
    }

    InProcessWorld world() {
        return world;
    }

    /**
     * Deposits this rank's contribution to collective number {@code seq}, waits for every rank, and returns all
     * contributions in rank order. Fails on every rank alike when the ranks did not call the same collective.
     */
    Object[] rendezvous(int rank, long seq, String op, Object payload) {
        Slot[] buffer = slots[(int) (seq & 1)];
        buffer[rank] = new Slot(op, seq, payload);
        await(op);
        Object[] payloads = new Object[size];
        for (int i = 0; i < size; i++) {
            Slot s = buffer[i];
            if (s == null || s.seq != seq || !s.op.equals(op)) {
                throw new IllegalStateException("collective mismatch in a group of " + size + ": rank " + rank
                        + " called " + op + " #" + seq + " but rank " + i + " called "
                        + (s == null ? "nothing" : s.op + " #" + s.seq));
            }
            payloads[i] = s.payload;
        }
        return payloads;
    }

    /** Returns once all {@code size} ranks have called it (for this generation). */
    void await(String op) {
        lock.lock();
        try {
            if (world.isAborted()) {
                throw world.aborted();
            }
            long gen = generation;
            if (++arrived == size) {
                arrived = 0;
                generation++;
                tripped.signalAll();
                return;
            }
            long nanos = world.timeout.toNanos();
            while (gen == generation) {
                if (world.isAborted()) {
                    throw world.aborted();
                }
                if (nanos <= 0) {
                    throw world.abort(new IllegalStateException(op + " timed out after " + world.timeout
                            + " waiting for the other ranks of a group of " + size));
                }
                nanos = tripped.awaitNanos(nanos);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw world.abort(e);
        } finally {
            lock.unlock();
        }
    }

    void wakeAll() {
        lock.lock();
        try {
            tripped.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Never blocks: point-to-point sends are buffered, which is what makes any batch of them deadlock-free. */
    void post(int src, int dst, double[] data) {
        mailboxes[src * size + dst].addLast(data);
    }

    /** The oldest message from {@code src} to {@code dst}, waiting for it if needed. */
    double[] take(int src, int dst) {
        LinkedBlockingDeque<double[]> box = mailboxes[src * size + dst];
        long deadline = System.nanoTime() + world.timeout.toNanos();
        try {
            while (true) {
                if (world.isAborted()) {
                    throw world.aborted();
                }
                double[] m = box.pollFirst(20, TimeUnit.MILLISECONDS);
                if (m != null) {
                    return m;
                }
                if (System.nanoTime() > deadline) {
                    throw world.abort(new IllegalStateException("rank " + dst + " timed out after " + world.timeout
                            + " waiting to receive from rank " + src));
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw world.abort(e);
        }
    }

    /** The sub-group a split creates: the same instance for every member that asks with the same key. */
    InProcessGroup child(String key, int childSize) {
        return children.computeIfAbsent(key, k -> new InProcessGroup(world, childSize));
    }
}
