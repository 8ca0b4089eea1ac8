package io.easycontext.runtime.parallel;

import io.easycontext.runtime.backend.AttentionMask;
import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.comm.Communicator;
import io.easycontext.runtime.comm.P2POp;
import io.easycontext.runtime.model.AttentionOp;
import io.easycontext.runtime.model.AttentionState;
import io.easycontext.runtime.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * dist_flash_attn: LightSeq's DistFlashAttn over contiguous shards, following {@link DistFlashSchedule}. Every step
 * is two batches of point-to-point transfers: a fetch (key/value chunks to owners, query chunks to helpers), the
 * block, then a return (a helper's partial result to the query's owner; in backward also an owner's partial
 * {@code dk, dv} to the key/value's owner). Results are merged and gradients summed in step order on the rank that
 * owns them, so the reduction order is fixed. The fetch of step {@code t + 1} is issued before step {@code t}
 * computes, into the other of two sets of receive buffers, so that it travels while the block computes (LightSeq's
 * overlap); the diagonal block covers step 1's fetch.
 *
 * <p>The last step of an even world splits its blocks by query rows ({@link DistFlashSchedule#split}): the owner
 * sends the second half of its query side to the key/value owner, computes the first half, and merges both. A row
 * half of one sequence is contiguous in q, out and dOut {@code [b, t, h, d]}, so it travels as a view, one per
 * sequence, and arrives packed: the helper computes all sequences' halves as one {@code [b, t/2, h, d]} block
 * against its own {@code [b, t]} keys, and its results travel back the same way. In lse {@code [b, h, t]} a row half
 * is a band of columns, so it is copied, by one {@link Backend#copyColumns}, into or out of a packed
 * {@code [b, h, t/2]} buffer (lse is {@code 1/(2d)} of q's bytes). The owner's own half is computed sequence by sequence on views; in
 * the forward its out and the helper's land in the two row halves of the partial out, whose lse is assembled the
 * same way, and one merge takes both; in the backward its half's dk, dv go to the key/value owner as at any step.
 * A chunk of odd length does not split: that step then runs as before, on the owners alone.
 */
public final class DistFlashAttention implements AttentionOp {

    /** q, k, v and out are the model's; only lse is the state's own. */
    private record State(double scale, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) implements AttentionState {
        @Override
        public void close() {
            lse.close();
        }
    }

    private final Communicator group;

    public DistFlashAttention(Communicator group) {
        this.group = group;
    }

    @Override
    public AttentionState forward(Backend backend, Tensor q, Tensor k, Tensor v, double scale, Tensor out) {
        int r = group.rank();
        int w = group.size();
        Tensor lse = backend.allocate(backend.statsType(), q.dim(0), q.dim(2), q.dim(1));
        try (Scratch temp = new Scratch(backend)) {
            boolean halves = q.dim(1) % 2 == 0;
            int steps = DistFlashSchedule.steps(w);
            Tensor[] mine = {k, v, q};
            Fetched fetched = new Fetched(temp, mine);
            Communicator.Pending inFlight = fetch(backend, r, w, 1, halves, mine, fetched);
            // Step 0: every rank's diagonal block, written straight into the results.
            backend.attentionForward(q, k, v, AttentionMask.CAUSAL_DIAGONAL, scale, out, lse);
            BlockAttention blocks = new BlockAttention(temp, scale);
            Tensor partialOut = temp.like(out);
            Tensor partialLse = temp.like(lse);
            for (int t = 1; t <= steps; t++) {
                DistFlashSchedule step = DistFlashSchedule.of(r, w, t, halves);
                inFlight.await();
                Tensor[] in = fetched.set(t, step.split());
                Tensor kIn = in[0];
                Tensor vIn = in[1];
                Tensor qIn = in[2];
                inFlight = fetch(backend, r, w, t + 1, halves, mine, fetched);

                Transfers back = new Transfers();
                Tensor lseHalf = null;
                if (step.kvFrom() >= 0 && step.split()) {
                    // The owner's half: out straight into the first rows of the partial, lse packed and copied there.
                    lseHalf = temp.allocate(lse.dtype(), lse.dim(0), lse.dim(1), lse.dim(2) / 2);
                    for (int s = 0; s < q.dim(0); s++) {
                        backend.attentionForward(TokenChunks.of(backend, q, s, 0, 2), sequence(backend, kIn, s),
                                sequence(backend, vIn, s), AttentionMask.FULL, scale,
                                TokenChunks.of(backend, partialOut, s, 0, 2), TokenChunks.lseOf(backend, lseHalf, s));
                    }
                    copyLseHalf(backend, partialLse, 0, lseHalf, false);
                } else if (step.kvFrom() >= 0) {
                    blocks.forward(q, kIn, vIn, AttentionMask.FULL, out, lse);
                }
                if (step.qFrom() >= 0) {
                    Tensor[] helped = blocks.compute(qIn, k, v, AttentionMask.FULL);
                    back.send(step.qFrom(), step.split() ? sequences(backend, helped[0]) : new Tensor[] {helped[0]})
                            .send(step.qFrom(), helped[1]);
                }
                if (step.split()) {
                    back.recv(step.qTo(), halfRows(backend, partialOut, 1)).recv(step.qTo(), lseHalf).run(group);
                    if (step.qTo() >= 0) {
                        copyLseHalf(backend, partialLse, 1, lseHalf, false);
                    }
                } else {
                    back.recv(step.qTo(), partialOut, partialLse).run(group);
                }
                if (step.qTo() >= 0) {
                    backend.attentionMerge(out, lse, partialOut, partialLse);
                }
            }
        }
        return new State(scale, q, k, v, out, lse);
    }

    /** The lse passes to the new state. */
    @Override
    public AttentionState rebind(Backend backend, AttentionState kept, Tensor q, Tensor k, Tensor v, Tensor out) {
        State st = (State) kept;
        return new State(st.scale, q, k, v, out, st.lse);
    }

    @Override
    public void backward(Backend backend, AttentionState state, Tensor dOut, Tensor dq, Tensor dk, Tensor dv) {
        State st = (State) state;
        int r = group.rank();
        int w = group.size();
        try (Scratch temp = new Scratch(backend)) {
            backend.attentionBackward(dOut, st.out, st.lse, st.q, st.k, st.v, AttentionMask.CAUSAL_DIAGONAL, st.scale,
                    dq, dk, dv);
            BlockAttention blocks = new BlockAttention(temp, st.scale);
            boolean halves = st.q.dim(1) % 2 == 0;
            int steps = DistFlashSchedule.steps(w);
            Tensor[] mine = {st.k, st.v, st.q, dOut, st.out, st.lse};
            Fetched fetched = new Fetched(temp, mine);
            Tensor dkPartial = temp.like(dk);
            Tensor dvPartial = temp.like(dv);
            Communicator.Pending inFlight = fetch(backend, r, w, 1, halves, mine, fetched);
            for (int t = 1; t <= steps; t++) {
                DistFlashSchedule step = DistFlashSchedule.of(r, w, t, halves);
                inFlight.await();
                Tensor[] in = fetched.set(t, step.split());
                Tensor kIn = in[0];
                Tensor vIn = in[1];
                Tensor qIn = in[2];
                Tensor dOutIn = in[3];
                Tensor outIn = in[4];
                Tensor lseIn = in[5];
                inFlight = fetch(backend, r, w, t + 1, halves, mine, fetched);

                Transfers back = new Transfers();
                if (step.kvFrom() >= 0 && step.split()) {
                    // The owner's half. It receives no query side at this step, so those buffers are free: lseIn
                    // (whose send of the second half is done) takes its first half's lse rows, qIn its half's dq,
                    // dOutIn the helper's dq below. Its dk, dv for the key/value owner go straight into the
                    // partials, which an owner does not receive into at this step.
                    copyLseHalf(backend, st.lse, 0, lseIn, true);
                    for (int s = 0; s < st.q.dim(0); s++) {
                        Tensor dqHalf = sequence(backend, qIn, s);
                        backend.attentionBackward(TokenChunks.of(backend, dOut, s, 0, 2),
                                TokenChunks.of(backend, st.out, s, 0, 2), TokenChunks.lseOf(backend, lseIn, s),
                                TokenChunks.of(backend, st.q, s, 0, 2), sequence(backend, kIn, s),
                                sequence(backend, vIn, s), AttentionMask.FULL, st.scale, dqHalf,
                                sequence(backend, dkPartial, s), sequence(backend, dvPartial, s));
                        backend.addScaledAccumulate(TokenChunks.of(backend, dq, s, 0, 2), dqHalf, 1.0);
                    }
                    back.send(step.kvFrom(), dkPartial, dvPartial);
                } else if (step.kvFrom() >= 0) {
                    Tensor[] g = blocks.gradients(dOut, st.out, st.lse, st.q, kIn, vIn, AttentionMask.FULL);
                    backend.addScaledAccumulate(dq, g[0], 1.0);
                    back.send(step.kvFrom(), g[1], g[2]);
                }
                if (step.qFrom() >= 0) {
                    Tensor[] g = blocks.gradients(dOutIn, outIn, lseIn, qIn, st.k, st.v, AttentionMask.FULL);
                    backend.addScaledAccumulate(dk, g[1], 1.0);
                    backend.addScaledAccumulate(dv, g[2], 1.0);
                    back.send(step.qFrom(), g[0]);
                }
                // A rank that receives a helper's dq never helps in the same step (qTo and qFrom exclude each
                // other), so its block dq is free: added into dq already, or not computed this step. At a split
                // step the helper's half-rows dq lands in the owner's idle dOut receive buffer instead.
                Tensor dqPartial = step.qTo() < 0 ? null : step.split() ? dOutIn : blocks.dqScratch(st.q);
                back.recv(step.kvTo(), dkPartial, dvPartial).recv(step.qTo(), dqPartial).run(group);
                if (step.kvTo() >= 0) {
                    backend.addScaledAccumulate(dk, dkPartial, 1.0);
                    backend.addScaledAccumulate(dv, dvPartial, 1.0);
                }
                if (step.qTo() >= 0 && step.split()) {
                    for (int s = 0; s < st.q.dim(0); s++) {
                        backend.addScaledAccumulate(TokenChunks.of(backend, dq, s, 1, 2),
                                sequence(backend, dqPartial, s), 1.0);
                    }
                } else if (step.qTo() >= 0) {
                    backend.addScaledAccumulate(dq, dqPartial, 1.0);
                }
            }
        }
    }

    /**
     * Starts step {@code t}'s fetch into its set of {@code fetched}; nothing past the last step. {@code mine} is k, v,
     * then the query side: q in the forward; q, dOut, out and lse in the backward. k and v go to the rank this one
     * helps, the query side to the rank that helps it: at a split step its second row half, lse's packed first into
     * the owner's own lse receive buffer, which it does not receive into then. The caller awaits it before step
     * {@code t} reads the set.
     */
    private Communicator.Pending fetch(Backend backend, int r, int w, int t, boolean halves, Tensor[] mine,
                                       Fetched fetched) {
        if (t > DistFlashSchedule.steps(w)) {
            return Communicator.Pending.DONE;
        }
        DistFlashSchedule step = DistFlashSchedule.of(r, w, t, halves);
        Tensor[] into = fetched.set(t, step.split());
        Transfers transfers = new Transfers().send(step.kvTo(), mine[0], mine[1]).recv(step.kvFrom(), into[0], into[1]);
        for (int i = 2; i < mine.length; i++) {
            if (!step.split()) {
                transfers.send(step.qTo(), mine[i]).recv(step.qFrom(), into[i]);
            } else if (mine[i].shape().length == 3) {
                if (step.qTo() >= 0) {
                    copyLseHalf(backend, mine[i], 1, into[i], true);
                }
                transfers.send(step.qTo(), into[i]).recv(step.qFrom(), into[i]);
            } else {
                transfers.send(step.qTo(), halfRows(backend, mine[i], 1))
                        .recv(step.qFrom(), sequences(backend, into[i]));
            }
        }
        return transfers.start(group);
    }

    /** Row half {@code half} of every sequence of {@code x [b, t, h, d]}: {@code b} views {@code [1, t/2, h, d]}. */
    private static Tensor[] halfRows(Backend backend, Tensor x, int half) {
        Tensor[] views = new Tensor[x.dim(0)];
        for (int s = 0; s < views.length; s++) {
            views[s] = TokenChunks.of(backend, x, s, half, 2);
        }
        return views;
    }

    /** Sequence {@code s} of {@code x [b, t, h, d]}: {@code [1, t, h, d]}. */
    private static Tensor sequence(Backend backend, Tensor x, int s) {
        return TokenChunks.of(backend, x, s, 0, 1);
    }

    /** Every sequence of {@code x [b, t, h, d]}, as views. */
    private static Tensor[] sequences(Backend backend, Tensor x) {
        Tensor[] views = new Tensor[x.dim(0)];
        for (int s = 0; s < views.length; s++) {
            views[s] = sequence(backend, x, s);
        }
        return views;
    }

    /**
     * Copies row half {@code half} of {@code lse [b, h, t]} into ({@code pack}) or out of {@code packed [b, h, t/2]},
     * one strided copy (Backend.copyColumns): a row half is a band of columns of lse.
     */
    private static void copyLseHalf(Backend backend, Tensor lse, int half, Tensor packed, boolean pack) {
        int len = lse.dim(2) / 2;
        if (pack) {
            backend.copyColumns(lse, half * len, packed, 0, len);
        } else {
            backend.copyColumns(packed, 0, lse, half * len, len);
        }
    }

    /**
     * The two sets of receive buffers, step {@code t} fetching into set {@code t % 2}; each is allocated by the first
     * fetch into it, so that a schedule of one step (two or three ranks) holds one set. A split step receives half the
     * query rows: its set is that size where it is the set's first step (two or four ranks; being the last step, it
     * is also its last), else the start of each of its whole buffers.
     */
    private static final class Fetched {
        private final Scratch temp;
        private final Tensor[] like;
        private final Tensor[][] sets = new Tensor[2][];

        Fetched(Scratch temp, Tensor[] like) {
            this.temp = temp;
            this.like = like;
        }

        Tensor[] set(int t, boolean split) {
            int i = t % 2;
            if (sets[i] == null) {
                sets[i] = new Tensor[like.length];
                for (int k = 0; k < like.length; k++) {
                    sets[i][k] = temp.allocate(like[k].dtype(), shape(k, split));
                }
            }
            if (!split) {
                return sets[i];
            }
            Tensor[] half = new Tensor[like.length];
            for (int k = 0; k < like.length; k++) {
                int[] shape = shape(k, true);
                half[k] = Arrays.equals(sets[i][k].shape(), shape) ? sets[i][k]
                        : temp.backend.view(sets[i][k], 0, shape);
            }
            return half;
        }

        /**
         * {@code like[k]}'s shape; at a split step the query side's half rows: {@code [b, t/2, h, d]}, and
         * {@code [b, h, t/2]} for lse.
         */
        private int[] shape(int k, boolean split) {
            int[] shape = like[k].shape().clone();
            if (split && k >= 2) {
                shape[shape.length == 4 ? 1 : 2] /= 2;
            }
            return shape;
        }
    }

    /** One batch of point-to-point transfers; a peer of −1 means "nobody this step". */
    private static final class Transfers {
        private final List<P2POp> ops = new ArrayList<>();

        Transfers send(int peer, Tensor... tensors) {
            if (peer >= 0) {
                for (Tensor t : tensors) {
                    ops.add(P2POp.send(t, peer));
                }
            }
            return this;
        }

        Transfers recv(int peer, Tensor... tensors) {
            if (peer >= 0) {
                for (Tensor t : tensors) {
                    ops.add(P2POp.recv(t, peer));
                }
            }
            return this;
        }

        void run(Communicator group) {
            start(group).await();
        }

        Communicator.Pending start(Communicator group) {
            return ops.isEmpty() ? Communicator.Pending.DONE : group.sendRecvAsync(ops);
        }
    }
}
