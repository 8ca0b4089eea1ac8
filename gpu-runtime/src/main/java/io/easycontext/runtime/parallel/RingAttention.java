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

    /** What the backward needs, per local chunk; {@code kept} owns whatever the forward allocated. */
    private record State(double scale, Tensor[] q, Tensor[] k, Tensor[] v, Tensor[] out, Tensor[] lse, Scratch kept)
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
        Tensor[] qc = TokenChunks.split(kept, q, n);
        Tensor[] kc = TokenChunks.split(kept, k, n);
        Tensor[] vc = TokenChunks.split(kept, v, n);
        Tensor[] outc = TokenChunks.shaped(kept, out, n);
        Tensor[] lsec = new Tensor[n];
        for (int i = 0; i < n; i++) {
            lsec[i] = kept.lseFor(qc[i]);
            BlockAttention.clear(backend, outc[i], lsec[i]);
        }
        try (Scratch temp = new Scratch(backend)) {
            BlockAttention blocks = new BlockAttention(temp, scale);
            Traveller kvInHand = new Traveller(temp, concat(kc, vc));
            for (int s = 0; s < ring.size(); s++) {
                // The next block travels while this one is computed; it is waited for only before its own step.
                Communicator.Pending next = s < ring.size() - 1 ? kvInHand.shiftAsync(ring) : Communicator.Pending.DONE;
                int[] theirs = layout.ringChunks(source(s));
                Tensor[] held = kvInHand.held(s);
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < theirs.length; j++) {
                        AttentionMask mask = ChunkMask.of(mine[i], theirs[j]);
                        if (mask != null) {
                            blocks.forward(qc[i], held[j], held[theirs.length + j], mask, outc[i], lsec[i]);
                        }
                    }
                }
                next.await();
            }
        }
        TokenChunks.join(backend, outc, out);
        return new State(scale, qc, kc, vc, outc, lsec, kept);
    }

    @Override
    public void backward(Backend backend, AttentionState state, Tensor dOut, Tensor dq, Tensor dk, Tensor dv) {
        State st = (State) state;
        int[] mine = layout.ringChunks(ring.rank());
        int n = mine.length;
        try (Scratch temp = new Scratch(backend)) {
            Tensor[] dOutc = TokenChunks.split(temp, dOut, n);
            Tensor[] dqc = new Tensor[n];
            Tensor[] dkvOwn = new Tensor[2 * n];
            for (int i = 0; i < n; i++) {
                dqc[i] = temp.zerosLike(st.q[i]);
                dkvOwn[i] = temp.zerosLike(st.k[i]);
                dkvOwn[n + i] = temp.zerosLike(st.v[i]);
            }
            Traveller kvInHand = new Traveller(temp, concat(st.k, st.v));
            Traveller dkvInHand = new Traveller(temp, dkvOwn);
            BlockAttention blocks = new BlockAttention(temp, st.scale);
            for (int s = 0; s < ring.size(); s++) {
                Communicator.Pending next = s < ring.size() - 1 ? kvInHand.shiftAsync(ring) : Communicator.Pending.DONE;
                int[] theirs = layout.ringChunks(source(s));
                Tensor[] held = kvInHand.held(s);
                Tensor[] dHeld = dkvInHand.held(s);
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < theirs.length; j++) {
                        AttentionMask mask = ChunkMask.of(mine[i], theirs[j]);
                        if (mask != null) {
                            blocks.backward(dOutc[i], st.out[i], st.lse[i], st.q[i], held[j],
                                    held[theirs.length + j], mask, dqc[i], dHeld[j], dHeld[theirs.length + j]);
                        }
                    }
                }
                next.await();
                // The accumulator moves on only once this rank has added to it; the last shift takes it home.
                dkvInHand.shift(ring);
            }
            Tensor[] home = dkvInHand.held(ring.size());
            TokenChunks.join(backend, dqc, dq);
            TokenChunks.join(backend, firstHalf(home), dk);
            TokenChunks.join(backend, secondHalf(home), dv);
        }
    }

    /** The rank whose chunks are in hand at step {@code s}. */
    private int source(int s) {
        return Math.floorMod(ring.rank() - s, ring.size());
    }

    /**
     * Tensors that walk around the ring. In hand at step {@code s} is the rank's own set at {@code s = 0} and then
     * alternately one of two receive buffers, so a shift never overwrites what is being sent, nor the rank's own
     * tensors, which the backward still needs.
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

        void shift(Communicator ring) {
            shiftAsync(ring).await();
        }

        /**
         * Sends what is in hand and receives into the other buffer, which held the block before last: the caller
         * awaits each shift before the next, so that buffer is free, and the compute queued on it came first.
         */
        Communicator.Pending shiftAsync(Communicator ring) {
            int slot = shifts % 2;
            if (buffers[slot] == null) {
                buffers[slot] = new Tensor[own.length];
                for (int i = 0; i < own.length; i++) {
                    buffers[slot][i] = scratch.like(own[i]);
                }
            }
            Communicator.Pending pending = RingShift.shiftAsync(ring, scratch.backend, held(shifts), buffers[slot]);
            shifts++;
            return pending;
        }
    }

    private static Tensor[] concat(Tensor[] a, Tensor[] b) {
        Tensor[] all = new Tensor[a.length + b.length];
        System.arraycopy(a, 0, all, 0, a.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    private static Tensor[] firstHalf(Tensor[] all) {
        Tensor[] h = new Tensor[all.length / 2];
        System.arraycopy(all, 0, h, 0, h.length);
        return h;
    }

    private static Tensor[] secondHalf(Tensor[] all) {
        Tensor[] h = new Tensor[all.length / 2];
        System.arraycopy(all, h.length, h, 0, h.length);
        return h;
    }
}
