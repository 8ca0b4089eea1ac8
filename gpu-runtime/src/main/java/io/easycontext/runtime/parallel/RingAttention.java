package io.easycontext.runtime.parallel;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.comm.Communicator;
import io.easycontext.runtime.model.AttentionOp;
import io.easycontext.runtime.model.AttentionState;
import io.easycontext.runtime.tensor.Tensor;

/**
 * The ring-step engine of ring_attn, zigzag_ring_attn and the ring of usp_attn (after ring-flash-attention). Each
 * rank holds some chunks of the sequence ({@link TokenLayout#ringChunks}). At step {@code s = 0 … W−1} rank
 * {@code r} holds the key/value chunks of rank {@code r − s}, attends its query chunks to them under
 * {@link ChunkMask} in the kernel calls {@link RingSchedule} gives (one per chunk pair, or merged), merges by
 * log-sum-exp, and passes them on to {@code r + 1}.
 *
 * <p>Backward repeats the walk with the final {@code out} and {@code lse}. Each key/value block travels together with
 * an accumulator of its {@code dk, dv}: every rank it visits adds its contribution and passes it on, and one last
 * shift after step {@code W−1} brings the accumulator home to its owner. So the sum over ranks is added in a fixed
 * order, and only neighbours ever talk.
 *
 * <p>With contiguous chunks, step {@code s} has work only on ranks {@code r ≥ s}; with zigzag chunks every rank has
 * the same work at every step (see the architecture notes). The mode is only the layout; the engine is the same.
 */
public final class RingAttention implements AttentionOp {

    /**
     * What the backward needs: the model's q, k, v and out, read through views, and the lse of each local chunk,
     * which is the state's own ({@code kept}).
     */
    private record State(double scale, Tensor q, Tensor k, Tensor v, Tensor out, Tensor[] lse, Scratch kept)
            implements AttentionState {
        @Override
        public void close() {
            kept.close();
        }
    }

    private final Communicator ring;
    private final TokenLayout layout;

    private final boolean merged;

    /** {@code layout} says which chunks each rank of {@code ring} holds; blocks as {@link RingSchedule#PROPERTY} says. */
    public RingAttention(Communicator ring, TokenLayout layout) {
        this(ring, layout, RingSchedule.mergedFromSystemProperty());
    }

    RingAttention(Communicator ring, TokenLayout layout, boolean merged) {
        this.ring = ring;
        this.layout = layout;
        this.merged = merged;
    }

    @Override
    public AttentionState forward(Backend backend, Tensor q, Tensor k, Tensor v, double scale, Tensor out) {
        int[] mine = layout.ringChunks(ring.rank());
        int n = mine.length;
        Scratch kept = new Scratch(backend);
        // lse is [b, h, t]: a chunk of tokens is not contiguous in it, so each chunk has its own.
        Tensor[] lsec = new Tensor[n];
        backend.fill(out, 0);
        for (int i = 0; i < n; i++) {
            lsec[i] = kept.allocate(backend.statsType(), q.dim(0), q.dim(2), q.dim(1) / n);
            backend.fill(lsec[i], Double.NEGATIVE_INFINITY);
        }
        RingSchedule plan = RingSchedule.of(layout, ring.rank(), ring.size(), merged);
        int len = q.dim(1) / n;
        try (Scratch temp = new Scratch(backend)) {
            BlockAttention blocks = new BlockAttention(temp, scale, plan.bufferedQueryChunks() * len,
                    plan.bufferedKeyChunks() * len);
            ChunkStats stats = new ChunkStats(temp, lsec, plan.queryChunks());
            Traveller kvInHand = new Traveller(temp, new Tensor[] {k, v});
            for (int s = 0; s < ring.size(); s++) {
                // The next block travels while this one is computed; it is waited for only before its own step.
                Communicator.Pending next = s < ring.size() - 1 ? kvInHand.shiftAsync(ring) : Communicator.Pending.DONE;
                Tensor[] held = kvInHand.held(s);
                for (ChunkBlock blk : plan.step(s)) {
                    for (int b = 0; b < q.dim(0); b++) {
                        Tensor qb = TokenChunks.of(backend, q, b, blk.q(), blk.qCount(), n);
                        Tensor kb = TokenChunks.of(backend, held[0], b, blk.k(), blk.kCount(), n);
                        Tensor vb = TokenChunks.of(backend, held[1], b, blk.k(), blk.kCount(), n);
                        Tensor outb = TokenChunks.of(backend, out, b, blk.q(), blk.qCount(), n);
                        Tensor lse = stats.gather(b, blk.q(), blk.qCount());
                        if (s == 0 && plan.direct()) {
                            backend.attentionForward(qb, kb, vb, blk.mask(), scale, outb, lse);
                        } else {
                            blocks.forward(qb, kb, vb, blk.mask(), outb, lse);
                        }
                        stats.scatter(lse, b, blk.q(), blk.qCount());
                    }
                }
                next.await();
            }
        }
        return new State(scale, q, k, v, out, lsec, kept);
    }

    /** The lse chunks and the scratch that owns them pass to the new state. */
    @Override
    public AttentionState rebind(Backend backend, AttentionState kept, Tensor q, Tensor k, Tensor v, Tensor out) {
        State st = (State) kept;
        return new State(st.scale, q, k, v, out, st.lse, st.kept);
    }

    /**
     * The rank's dq and its own dk, dv accumulators are the model's {@code dq, dk, dv}: each block adds into views of
     * them, in the same order as into separate zeroed tensors, so the sums are the same bits (a direct step 0 writes
     * its block's gradients into them, which is 0 + g).
     */
    @Override
    public void backward(Backend backend, AttentionState state, Tensor dOut, Tensor dq, Tensor dk, Tensor dv) {
        State st = (State) state;
        int[] mine = layout.ringChunks(ring.rank());
        int n = mine.length;
        backend.fill(dq, 0);
        backend.fill(dk, 0);
        backend.fill(dv, 0);
        RingSchedule plan = RingSchedule.of(layout, ring.rank(), ring.size(), merged);
        int len = st.q.dim(1) / n;
        try (Scratch temp = new Scratch(backend)) {
            Traveller kvInHand = new Traveller(temp, new Tensor[] {st.k, st.v});
            Accumulator dkvInHand = new Accumulator(temp, new Tensor[] {dk, dv});
            BlockAttention blocks = new BlockAttention(temp, st.scale, plan.bufferedQueryChunks() * len,
                    plan.bufferedKeyChunks() * len);
            ChunkStats stats = new ChunkStats(temp, st.lse, plan.queryChunks());
            for (int s = 0; s < ring.size(); s++) {
                Communicator.Pending next = s < ring.size() - 1 ? kvInHand.shiftAsync(ring) : Communicator.Pending.DONE;
                Tensor[] held = kvInHand.held(s);
                for (ChunkBlock blk : plan.step(s)) {
                    for (int b = 0; b < st.q.dim(0); b++) {
                        Tensor dOutb = TokenChunks.of(backend, dOut, b, blk.q(), blk.qCount(), n);
                        Tensor outb = TokenChunks.of(backend, st.out, b, blk.q(), blk.qCount(), n);
                        Tensor qb = TokenChunks.of(backend, st.q, b, blk.q(), blk.qCount(), n);
                        Tensor kb = TokenChunks.of(backend, held[0], b, blk.k(), blk.kCount(), n);
                        Tensor vb = TokenChunks.of(backend, held[1], b, blk.k(), blk.kCount(), n);
                        Tensor dqb = TokenChunks.of(backend, dq, b, blk.q(), blk.qCount(), n);
                        Tensor lse = stats.gather(b, blk.q(), blk.qCount());
                        if (s == 0 && plan.direct()) {
                            Tensor[] own = dkvInHand.held();
                            backend.attentionBackward(dOutb, outb, lse, qb, kb, vb, blk.mask(), st.scale, dqb,
                                    TokenChunks.of(backend, own[0], b, blk.k(), blk.kCount(), n),
                                    TokenChunks.of(backend, own[1], b, blk.k(), blk.kCount(), n));
                            continue;
                        }
                        Tensor[] g = blocks.gradients(dOutb, outb, lse, qb, kb, vb, blk.mask());
                        // The accumulator from the left travelled while this block computed.
                        Tensor[] dHeld = dkvInHand.held();
                        backend.addScaledAccumulate(dqb, g[0], 1.0);
                        backend.addScaledAccumulate(TokenChunks.of(backend, dHeld[0], b, blk.k(), blk.kCount(), n),
                                g[1], 1.0);
                        backend.addScaledAccumulate(TokenChunks.of(backend, dHeld[1], b, blk.k(), blk.kCount(), n),
                                g[2], 1.0);
                    }
                }
                // Transfers are awaited in the order they started (the accumulator's before the next key/value
                // block's), also on a rank with nothing to add this step, as a communicator may require.
                dkvInHand.held();
                next.await();
                // The accumulator moves on once this rank has added to it; the last shift takes it home.
                dkvInHand.shiftAsync(ring);
            }
            dkvInHand.bringHome(backend);
        }
    }

    /**
     * The lse of a block's query chunks side by side, as the kernels read it: each chunk keeps its own
     * {@code [b, h, len]} (a chunk is not contiguous in {@code [b, h, t]}), so a block over several is gathered into
     * one buffer of up to {@code capacity} chunks, and scattered back after a forward block has merged into it.
     */
    private static final class ChunkStats {
        private final Scratch scratch;
        private final Tensor[] lse;
        private final int capacity;
        private Tensor buffer;

        ChunkStats(Scratch scratch, Tensor[] lse, int capacity) {
            this.scratch = scratch;
            this.lse = lse;
            this.capacity = capacity;
        }

        Tensor gather(int b, int from, int count) {
            Backend backend = scratch.backend;
            if (count == 1) {
                return TokenChunks.lseOf(backend, lse[from], b);
            }
            int heads = lse[from].dim(1);
            int len = lse[from].dim(2);
            if (buffer == null) {
                buffer = scratch.allocate(backend.statsType(), 1, heads, capacity * len);
            }
            Tensor gathered = backend.view(buffer, 0, 1, heads, count * len);
            for (int c = 0; c < count; c++) {
                backend.copyColumns(TokenChunks.lseOf(backend, lse[from + c], b), 0, gathered, c * len, len);
            }
            return gathered;
        }

        void scatter(Tensor gathered, int b, int from, int count) {
            if (count == 1) {
                return;
            }
            int len = lse[from].dim(2);
            for (int c = 0; c < count; c++) {
                scratch.backend.copyColumns(gathered, c * len, TokenChunks.lseOf(scratch.backend, lse[from + c], b), 0,
                        len);
            }
        }
    }

    /**
     * Key/value blocks that walk around the ring. In hand at step {@code s} is the rank's own set at {@code s = 0} and
     * then alternately one of two receive buffers, so a shift never overwrites what is being sent, nor the rank's
     * own tensors, which the backward still needs. A ring of two ranks shifts once and needs only one buffer.
     */
    private static final class Traveller {
        private final Scratch scratch;
        private final Tensor[] own;
        private final Tensor[][] buffers = new Tensor[2][];
        private int shifts;

        Traveller(Scratch scratch, Tensor[] own) {
            this.scratch = scratch;
            this.own = own;
        }

        Tensor[] held(int step) {
            return step == 0 ? own : buffers[(step - 1) % 2];
        }

        /**
         * Sends what is in hand and receives into the other buffer, which held the block before last: the caller
         * awaits each shift before the next, so that buffer is free, and the compute queued on it came first.
         */
        Communicator.Pending shiftAsync(Communicator ring) {
            int slot = shifts % 2;
            if (buffers[slot] == null) {
                buffers[slot] = scratch.likeAll(own);
            }
            Communicator.Pending pending = RingShift.shiftAsync(ring, scratch.backend, held(shifts), buffers[slot]);
            shifts++;
            return pending;
        }
    }

    /**
     * dK/dV accumulators that walk around the ring. A shift runs while the next step's first block computes its
     * gradients; the accumulator is waited for only where that block adds to it. The set sent is free once its shift
     * is waited for, so the walk alternates between the rank's own tensors (the model's dk, dv) and one spare set;
     * it ends in the spare after an odd number of shifts, which is copied home.
     */
    private static final class Accumulator {
        private final Scratch scratch;
        private final Tensor[] own;
        private Tensor[] spare;
        private Tensor[] held;
        private Communicator.Pending arriving = Communicator.Pending.DONE;

        Accumulator(Scratch scratch, Tensor[] own) {
            this.scratch = scratch;
            this.own = own;
            this.held = own;
        }

        /** The accumulator in hand, once it has arrived. */
        Tensor[] held() {
            arriving.await();
            arriving = Communicator.Pending.DONE;
            return held;
        }

        void shiftAsync(Communicator ring) {
            if (ring.size() == 1) {
                // Already home: a ring of one (usp_attn's Ulysses-only layout) has no neighbour to visit.
                return;
            }
            Tensor[] send = held();
            if (spare == null) {
                spare = scratch.likeAll(own);
            }
            Tensor[] into = send == own ? spare : own;
            arriving = RingShift.shiftAsync(ring, scratch.backend, send, into);
            held = into;
        }

        void bringHome(Backend backend) {
            Tensor[] last = held();
            if (last != own) {
                for (int i = 0; i < own.length; i++) {
                    backend.copy(last[i], own[i]);
                }
            }
        }
    }
}
