package io.easycontext.runtime.cuda;

import jcuda.driver.JCudaDriver;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.TreeSet;

/**
 * A stream-ordered caching allocator for one device. Memory comes from the driver in large segments, which
 * stay reserved; blocks are carved from them best-fit and coalesce when freed. After the first training step
 * has sized the segments, steps allocate without calling the driver.
 *
 * <p>Ordering follows the pool's own stream: a block freed there may be handed out again at once, since any
 * later use on that stream runs after the earlier one. A block that another stream also touched must be
 * {@linkplain #recordUse marked}; its reuse then waits until that stream has passed the point of the free.
 *
 * <p>A capacity caps what the pool reserves (e.g. 80 GB on a 141 GB card, to plan for the smaller one);
 * exceeding it, or the card, throws {@link OutOfDeviceMemoryException} with the numbers.
 */
public final class DeviceMemoryPool implements AutoCloseable {
    /** Every block starts on this boundary: enough for vector loads, cuBLAS and NCCL. */
    public static final long ALIGNMENT = 512;
    private static final long DEFAULT_SEGMENT = 1L << 30;

    /** A piece of device memory handed out by the pool. */
    public static final class Block {
        private final Segment segment;
        private final long offset;
        private long size;
        private Block prev;
        private Block next;
        private boolean free;
        private final List<CudaStream> usedOn = new ArrayList<>(1);
        private final List<CudaEvent> pending = new ArrayList<>(1);

        private Block(Segment segment, long offset, long size) {
            this.segment = segment;
            this.offset = offset;
            this.size = size;
        }

        public DevicePtr ptr() {
            return segment.base.plus(offset);
        }

        public long address() {
            return segment.base.address() + offset;
        }

        public long size() {
            return size;
        }
    }

    private static final class Segment {
        final DevicePtr base;
        final long size;

        Segment(DevicePtr base, long size) {
            this.base = base;
            this.size = size;
        }
    }

    private static final Comparator<Block> BY_SIZE =
            Comparator.comparingLong((Block b) -> b.size).thenComparingLong(Block::address);

    private final CudaDevice device;
    private final CudaStream stream;
    private final long capacity;
    private final long segmentSize;
    private final List<Segment> segments = new ArrayList<>();
    private final TreeSet<Block> freeBlocks = new TreeSet<>(BY_SIZE);
    private final Deque<Block> awaitingStreams = new ArrayDeque<>();
    private long reserved;
    private long inUse;
    private long peakInUse;
    private int driverAllocations;

    /**
     * @param stream   the stream whose order governs reuse
     * @param capacity the most this pool may reserve from the device, in bytes
     */
    public DeviceMemoryPool(CudaDevice device, CudaStream stream, long capacity) {
        this(device, stream, capacity, DEFAULT_SEGMENT);
    }

    public DeviceMemoryPool(CudaDevice device, CudaStream stream, long capacity, long segmentSize) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("pool capacity must be positive, not " + capacity);
        }
        this.device = device;
        this.stream = stream;
        this.capacity = capacity;
        this.segmentSize = align(segmentSize);
    }

    private static long align(long bytes) {
        return (bytes + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    public synchronized Block allocate(long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("allocation of " + bytes + " bytes");
        }
        long size = align(bytes);
        reclaimFinished();
        Block block = freeBlocks.ceiling(probe(size));
        if (block == null) {
            block = grow(size);
        } else {
            freeBlocks.remove(block);
        }
        split(block, size);
        block.free = false;
        inUse += block.size;
        peakInUse = Math.max(peakInUse, inUse);
        return block;
    }

    /** Declares that {@code other} (not the pool's stream) uses the block, so reuse waits for it. */
    public synchronized void recordUse(Block block, CudaStream other) {
        if (other != stream && !block.usedOn.contains(other)) {
            block.usedOn.add(other);
        }
    }

    public synchronized void free(Block block) {
        if (block.free) {
            throw new IllegalStateException("block at 0x" + Long.toHexString(block.address()) + " freed twice");
        }
        inUse -= block.size;
        if (block.usedOn.isEmpty()) {
            release(block);
        } else {
            for (CudaStream s : block.usedOn) {
                block.pending.add(CudaEvent.forOrdering().record(s));
            }
            block.usedOn.clear();
            awaitingStreams.add(block);
        }
    }

    private void reclaimFinished() {
        for (Iterator<Block> it = awaitingStreams.iterator(); it.hasNext(); ) {
            Block b = it.next();
            if (b.pending.stream().allMatch(CudaEvent::isDone)) {
                b.pending.forEach(CudaEvent::close);
                b.pending.clear();
                it.remove();
                release(b);
            }
        }
    }

    private void release(Block block) {
        block.free = true;
        Block merged = block;
        if (merged.prev != null && merged.prev.free) {
            Block p = merged.prev;
            freeBlocks.remove(p);
            p.size += merged.size;
            unlink(merged);
            merged = p;
        }
        if (merged.next != null && merged.next.free) {
            Block n = merged.next;
            freeBlocks.remove(n);
            merged.size += n.size;
            unlink(n);
        }
        freeBlocks.add(merged);
    }

    private static void unlink(Block b) {
        if (b.prev != null) {
            b.prev.next = b.next;
        }
        if (b.next != null) {
            b.next.prev = b.prev;
        }
    }

    private void split(Block block, long size) {
        long rest = block.size - size;
        if (rest < ALIGNMENT) {
            return;
        }
        Block tail = new Block(block.segment, block.offset + size, rest);
        tail.free = true;
        tail.prev = block;
        tail.next = block.next;
        if (block.next != null) {
            block.next.prev = tail;
        }
        block.next = tail;
        block.size = size;
        freeBlocks.add(tail);
    }

    private Block grow(long size) {
        long want = Math.max(size, segmentSize);
        if (reserved + want > capacity) {
            want = size;
        }
        if (reserved + want > capacity) {
            throw new OutOfDeviceMemoryException(size, inUse, reserved, capacity, device);
        }
        DevicePtr base = new DevicePtr();
        device.makeCurrent();
        int r = JCudaDriver.cuMemAlloc(base, want);
        if (r != 0) {
            throw new OutOfDeviceMemoryException(size, inUse, reserved, capacity, device);
        }
        driverAllocations++;
        reserved += want;
        Segment s = new Segment(base, want);
        segments.add(s);
        return new Block(s, 0, want);
    }

    /** A search key for the free set: sorts before every free block of at least {@code size} bytes. */
    private static Block probe(long size) {
        return new Block(new Segment(new DevicePtr(), 0), 0, size);
    }

    public synchronized long inUse() {
        return inUse;
    }

    public synchronized long peakInUse() {
        return peakInUse;
    }

    public synchronized void resetPeak() {
        peakInUse = inUse;
    }

    public synchronized long reserved() {
        return reserved;
    }

    public long capacity() {
        return capacity;
    }

    /** How many times the pool has asked the driver for memory: constant across steady-state training steps. */
    public synchronized int driverAllocations() {
        return driverAllocations;
    }

    public CudaStream stream() {
        return stream;
    }

    /** Returns every segment to the driver; all blocks must be unused by then. */
    @Override
    public synchronized void close() {
        stream.synchronize();
        for (Block b : awaitingStreams) {
            b.pending.forEach(e -> {
                e.synchronize();
                e.close();
            });
        }
        awaitingStreams.clear();
        device.makeCurrent();
        for (Segment s : segments) {
            Cu.check(JCudaDriver.cuMemFree(s.base), "cuMemFree");
        }
        segments.clear();
        freeBlocks.clear();
        reserved = 0;
        inUse = 0;
    }
}
