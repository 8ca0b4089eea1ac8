package io.easycontext.runtime.parallel;

import io.easycontext.runtime.backend.AttentionMask;
import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.comm.Communicator;
import io.easycontext.runtime.model.AttentionOp;
import io.easycontext.runtime.model.AttentionState;
import io.easycontext.runtime.tensor.Tensor;

/**
 * The ring-step engine of ring_attn, zigzag_ring_attn and the ring of usp_attn (after ring-flash-attention). Each
 * rank holds some chunks of the sequence ({@link TokenLayout#ringChunks}). At step {@code s = 0 … W−1} rank
 * {@code r} holds the key/value chunks of rank {@code r − s}, attends its query chunks to them under
 * {@link ChunkMask}, merges by log-sum-exp, and passes them on to {@code r + 1}.
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

    /** {@code layout} says which chunks each rank of {@code ring} holds. */
    public RingAttention(Communicator ring, TokenLayout layout) {
        this.ring = ring;
        this.layout = layout;
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
        try (Scratch temp = new Scratch(backend)) {
            BlockAttention blocks = new BlockAttention(temp, scale);
            Traveller kvInHand = new Traveller(temp, new Tensor[] {k, v});
            for (int s = 0; s < ring.size(); s++) {
                // The next block travels while this one is computed; it is waited for only before its own step.
                Communicator.Pending next = s < ring.size() - 1 ? kvInHand.shiftAsync(ring) : Communicator.Pending.DONE;
                int[] theirs = layout.ringChunks(source(s));
                Tensor[] held = kvInHand.held(s);
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < theirs.length; j++) {
                        AttentionMask mask = ChunkMask.of(mine[i], theirs[j]);
                        if (mask == null) {
                            continue;
                        }
                        for (int b = 0; b < q.dim(0); b++) {
                            blocks.forward(TokenChunks.of(backend, q, b, i, n),
                                    TokenChunks.of(backend, held[0], b, j, n), TokenChunks.of(backend, held[1], b, j, n),
                                    mask, TokenChunks.of(backend, out, b, i, n), TokenChunks.lseOf(backend, lsec[i], b));
                        }
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
     * them, in the same order as into separate zeroed tensors, so the sums are the same bits.
     */
    @Override
    public void backward(Backend backend, AttentionState state, Tensor dOut, Tensor dq, Tensor dk, Tensor dv) {
        State st = (State) state;
        int[] mine = layout.ringChunks(ring.rank());
        int n = mine.length;
        backend.fill(dq, 0);
        backend.fill(dk, 0);
        backend.fill(dv, 0);
        try (Scratch temp = new Scratch(backend)) {
            Traveller kvInHand = new Traveller(temp, new Tensor[] {st.k, st.v});
            Accumulator dkvInHand = new Accumulator(temp, new Tensor[] {dk, dv});
            BlockAttention blocks = new BlockAttention(temp, st.scale);
            for (int s = 0; s < ring.size(); s++) {
                Communicator.Pending next = s < ring.size() - 1 ? kvInHand.shiftAsync(ring) : Communicator.Pending.DONE;
                int[] theirs = layout.ringChunks(source(s));
                Tensor[] held = kvInHand.held(s);
                Tensor[] dHeld = dkvInHand.held();
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < theirs.length; j++) {
                        AttentionMask mask = ChunkMask.of(mine[i], theirs[j]);
                        if (mask == null) {
                            continue;
                        }
                        for (int b = 0; b < st.q.dim(0); b++) {
                            blocks.backward(TokenChunks.of(backend, dOut, b, i, n),
                                    TokenChunks.of(backend, st.out, b, i, n), TokenChunks.lseOf(backend, st.lse[i], b),
                                    TokenChunks.of(backend, st.q, b, i, n), TokenChunks.of(backend, held[0], b, j, n),
                                    TokenChunks.of(backend, held[1], b, j, n), mask,
                                    TokenChunks.of(backend, dq, b, i, n), TokenChunks.of(backend, dHeld[0], b, j, n),
                                    TokenChunks.of(backend, dHeld[1], b, j, n));
                        }
                    }
                }
                next.await();
                // The accumulator moves on only once this rank has added to it; the last shift takes it home.
                dkvInHand.shift(ring);
            }
            dkvInHand.bringHome(backend);
        }
    }

    /** The rank whose chunks are in hand at step {@code s}. */
    private int source(int s) {
        return Math.floorMod(ring.rank() - s, ring.size());
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
     * dK/dV accumulators that walk around the ring, each shift awaited before the next block adds to what arrived.
     * The set sent is free once its shift returns, so the walk alternates between the rank's own tensors (the
     * model's dk, dv) and one spare set; it ends in the spare after an odd number of shifts, which is copied home.
     */
    private static final class Accumulator {
        private final Scratch scratch;
        private final Tensor[] own;
        private Tensor[] spare;
        private Tensor[] held;

        Accumulator(Scratch scratch, Tensor[] own) {
            this.scratch = scratch;
            this.own = own;
            this.held = own;
        }

        Tensor[] held() {
            return held;
        }

        void shift(Communicator ring) {
            if (ring.size() == 1) {
                // Already home: a ring of one (usp_attn's Ulysses-only layout) has no neighbour to visit.
                return;
            }
            if (spare == null) {
                spare = scratch.likeAll(own);
            }
            Tensor[] into = held == own ? spare : own;
            RingShift.shift(ring, scratch.backend, held, into);
            held = into;
        }

        void bringHome(Backend backend) {
            if (held != own) {
                for (int i = 0; i < own.length; i++) {
                    backend.copy(held[i], own[i]);
                }
            }
        }
    }
}
