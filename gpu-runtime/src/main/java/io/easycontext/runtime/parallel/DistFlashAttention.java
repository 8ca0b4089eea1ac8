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
            int steps = DistFlashSchedule.steps(w);
            Tensor[] mine = {k, v, q};
            Fetched fetched = new Fetched(temp, mine);
            Communicator.Pending inFlight = fetch(r, w, 1, steps, mine, fetched);
            // Step 0: every rank's diagonal block, written straight into the results.
            backend.attentionForward(q, k, v, AttentionMask.CAUSAL_DIAGONAL, scale, out, lse);
            BlockAttention blocks = new BlockAttention(temp, scale);
            Tensor partialOut = temp.like(out);
            Tensor partialLse = temp.like(lse);
            for (int t = 1; t <= steps; t++) {
                DistFlashSchedule step = DistFlashSchedule.of(r, w, t);
                inFlight.await();
                Tensor[] in = fetched.set(t);
                Tensor kIn = in[0];
                Tensor vIn = in[1];
                Tensor qIn = in[2];
                inFlight = fetch(r, w, t + 1, steps, mine, fetched);

                Transfers back = new Transfers();
                if (step.kvFrom() >= 0) {
                    blocks.forward(q, kIn, vIn, AttentionMask.FULL, out, lse);
                }
                if (step.qFrom() >= 0) {
                    Tensor[] helped = blocks.compute(qIn, k, v, AttentionMask.FULL);
                    back.send(step.qFrom(), helped[0], helped[1]);
                }
                back.recv(step.qTo(), partialOut, partialLse).run(group);
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
            int steps = DistFlashSchedule.steps(w);
            Tensor[] mine = {st.k, st.v, st.q, dOut, st.out, st.lse};
            Fetched fetched = new Fetched(temp, mine);
            Tensor dkPartial = temp.like(dk);
            Tensor dvPartial = temp.like(dv);
            Communicator.Pending inFlight = fetch(r, w, 1, steps, mine, fetched);
            for (int t = 1; t <= steps; t++) {
                DistFlashSchedule step = DistFlashSchedule.of(r, w, t);
                inFlight.await();
                Tensor[] in = fetched.set(t);
                Tensor kIn = in[0];
                Tensor vIn = in[1];
                Tensor qIn = in[2];
                Tensor dOutIn = in[3];
                Tensor outIn = in[4];
                Tensor lseIn = in[5];
                inFlight = fetch(r, w, t + 1, steps, mine, fetched);

                Transfers back = new Transfers();
                if (step.kvFrom() >= 0) {
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
                // other), so its block dq is free: added into dq already, or not computed this step.
                Tensor dqPartial = step.qTo() >= 0 ? blocks.dqScratch(st.q) : null;
                back.recv(step.kvTo(), dkPartial, dvPartial).recv(step.qTo(), dqPartial).run(group);
                if (step.kvTo() >= 0) {
                    backend.addScaledAccumulate(dk, dkPartial, 1.0);
                    backend.addScaledAccumulate(dv, dvPartial, 1.0);
                }
                if (step.qTo() >= 0) {
                    backend.addScaledAccumulate(dq, dqPartial, 1.0);
                }
            }
        }
    }

    /**
     * Starts step {@code t}'s fetch into {@code into}; nothing past the last step. {@code mine} is k, v, then the
     * query side: q in the forward; q, dOut, out and lse in the backward. k and v go to the rank this one helps, the
     * query side to the rank that helps it. The caller awaits it before step {@code t} reads {@code into}.
     */
    private Communicator.Pending fetch(int r, int w, int t, int steps, Tensor[] mine, Fetched fetched) {
        if (t > steps) {
            return Communicator.Pending.DONE;
        }
        Tensor[] into = fetched.set(t);
        DistFlashSchedule step = DistFlashSchedule.of(r, w, t);
        int n = mine.length;
        return new Transfers().send(step.kvTo(), mine[0], mine[1]).send(step.qTo(), Arrays.copyOfRange(mine, 2, n))
                .recv(step.kvFrom(), into[0], into[1]).recv(step.qFrom(), Arrays.copyOfRange(into, 2, n))
                .start(group);
    }

    /**
     * The two sets of receive buffers, step {@code t} fetching into set {@code t % 2}; each is allocated by the first
     * fetch into it, so that a schedule of one step (two or three ranks) holds one set.
     */
    private static final class Fetched {
        private final Scratch temp;
        private final Tensor[] like;
        private final Tensor[][] sets = new Tensor[2][];

        Fetched(Scratch temp, Tensor[] like) {
            this.temp = temp;
            this.like = like;
        }

        Tensor[] set(int t) {
            int i = t % 2;
            if (sets[i] == null) {
                sets[i] = temp.likeAll(like);
            }
            return sets[i];
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
