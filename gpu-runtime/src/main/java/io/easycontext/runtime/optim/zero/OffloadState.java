package io.easycontext.runtime.optim.zero;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.optim.AdamW;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * The shard's state in host memory, walked in chunks of a fixed number of elements: what both offloaded updates
 * share. A chunk never crosses a host segment (segments hold whole chunks), so each chunk's state is one contiguous
 * range for the driver to copy.
 */
abstract class OffloadState implements ShardState {

    /** Staging slots, used round-robin by consecutive chunks. */
    static final int RING = ShardedOptimizer.CHUNKS_IN_FLIGHT;

    /** Host segments of about 1 GiB, whole chunks each. */
    private static final long SEGMENT_BYTES = 1L << 30;

    /** Elements {@code [from, from + length)} of the shard and the pieces of parameters within them. */
    record Chunk(long from, int length, List<ShardPiece> pieces) {
    }

    final Backend backend;
    final HostTransfers transfers;
    final AdamW.Hyper hyper;
    final HostBuffer master;
    /** The type of {@link #m} and {@link #v}: the backend's statistics type, or BF16 ({@code --optimizer-moments}). */
    final DType momentsType;
    final HostBuffer m;
    final HostBuffer v;
    final List<Chunk> chunks = new ArrayList<>();
    final int chunkElements;
    private final ShardValues values;
    private final Tensor grads;

    /** The master weights start as the shard's values, the moments at zero. */
    OffloadState(Backend backend, ShardValues valueShard, Tensor gradShard, List<ShardPiece> pieces,
                 AdamW.Hyper hyper, int chunkElements) {
        if (chunkElements < 1) {
            throw new IllegalArgumentException("offload chunks of " + chunkElements + " elements");
        }
        this.backend = backend;
        this.hyper = hyper;
        this.values = valueShard;
        this.grads = gradShard;
        long shardSize = gradShard.numel();
        this.chunkElements = (int) Math.min(chunkElements, shardSize);
        for (long from = 0; from < shardSize; from += this.chunkElements) {
            int length = (int) Math.min(this.chunkElements, shardSize - from);
            List<ShardPiece> within = ShardPiece.within(pieces, from, length);
            if (!within.isEmpty()) {
                chunks.add(new Chunk(from, length, within));
            }
        }
        DType stats = backend.statsType();
        this.momentsType = hyper.moments().dtype(backend);
        this.transfers = HostTransfers.of(backend);
        this.m = transfers.allocate(momentsType, shardSize, segmentElements(momentsType));
        this.v = transfers.allocate(momentsType, shardSize, segmentElements(momentsType));
        m.zero();
        v.zero();
        if (backend.floatType() != stats) {
            master = transfers.allocate(stats, shardSize, segmentElements(stats));
            master.zero();
            copyValuesInto(master, stats);
        } else {
            master = null;
        }
    }

    /** Elements of a host segment of {@code type}: whole chunks, about {@link #SEGMENT_BYTES} of them. */
    private long segmentElements(DType type) {
        return chunkElements * Math.max(1, SEGMENT_BYTES / ((long) chunkElements * type.bytes()));
    }

    /**
     * The master weights' first values: the backend casts each chunk's values up, and the download lane copies the
     * chunk down, while the next chunk waits only for the staging buffer. Element by element through the host, a
     * 7B shard took most of a minute.
     */
    private void copyValuesInto(HostBuffer master, DType stats) {
        try (Tensor stage = backend.allocate(stats, chunkElements);
             HostTransfers.Fence cast = transfers.fence();
             HostTransfers.Fence copied = transfers.fence()) {
            for (Chunk c : chunks) {
                copied.await(HostTransfers.Lane.COMPUTE);
                for (ShardPiece p : c.pieces()) {
                    backend.copy(valueView(p), backend.view(stage, p.offset() - c.from(), p.length()));
                }
                cast.record(HostTransfers.Lane.COMPUTE);
                cast.await(HostTransfers.Lane.DOWNLOAD);
                for (ShardPiece p : c.pieces()) {
                    transfers.download(backend.view(stage, p.offset() - c.from(), p.length()), master, p.offset());
                }
                copied.record(HostTransfers.Lane.DOWNLOAD);
            }
            transfers.synchronize();
        }
    }

    /** The piece's values, in the shard the optimizer's all-gather sends from. */
    final Tensor valueView(ShardPiece p) {
        return values.range(p.offset(), p.length());
    }

    /** The piece's reduced gradients. */
    final Tensor gradView(ShardPiece p) {
        return backend.view(grads, p.offset(), p.length());
    }

    /** A backend staging buffer of one chunk's elements, for the device copies of state. */
    final Tensor[] stagingTensors(DType dtype) {
        Tensor[] ring = new Tensor[RING];
        for (int k = 0; k < RING; k++) {
            ring[k] = backend.zeros(dtype, chunkElements);
        }
        return ring;
    }

    final HostTransfers.Fence[] fences() {
        HostTransfers.Fence[] ring = new HostTransfers.Fence[RING];
        for (int k = 0; k < RING; k++) {
            ring[k] = transfers.fence();
        }
        return ring;
    }

    @Override
    public List<Vector> vectors() {
        List<Vector> all = new ArrayList<>();
        if (master != null) {
            all.add(new HostVector(MASTER, master));
        }
        all.add(new HostVector(EXP_AVG, m));
        all.add(new HostVector(EXP_AVG_SQ, v));
        return all;
    }

    private final class HostVector implements Vector {
        private final String name;
        private final HostBuffer buffer;

        HostVector(String name, HostBuffer buffer) {
            this.name = name;
            this.buffer = buffer;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public DType dtype() {
            return buffer.dtype();
        }

        @Override
        public long length() {
            return buffer.length();
        }

        @Override
        public double[] read(long from, int n) {
            transfers.synchronize();
            double[] out = new double[n];
            buffer.read(from, out, 0, n);
            return out;
        }

        @Override
        public void write(long from, double[] values) {
            transfers.synchronize();
            buffer.write(from, values, 0, values.length);
        }
    }

    /** Frees what the subclass holds beside the host state (staging, fences); called after the lanes are idle. */
    abstract void closeStaging();

    @Override
    public final void close() {
        transfers.synchronize();
        closeStaging();
        if (master != null) {
            master.close();
        }
        m.close();
        v.close();
        transfers.close();
    }
}
