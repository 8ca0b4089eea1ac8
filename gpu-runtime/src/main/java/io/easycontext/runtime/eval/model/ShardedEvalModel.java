package io.easycontext.runtime.eval.model;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.comm.Communicator;
import io.easycontext.runtime.comm.ReduceOp;
import io.easycontext.runtime.model.LlamaModel;
import io.easycontext.runtime.parallel.ParallelConfig;
import io.easycontext.runtime.parallel.ParallelRank;

import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One rank's part of a sequence-parallel forward pass, as EasyContext's evaluations run it: the sequence padded at
 * its end to a length every mode can split (a multiple of twice the group size), sharded by the mode's layout
 * (zigzag chunks for zigzag_ring_attn), and run through the mode's attention. Padding follows every scored token, so
 * under causal attention it changes nothing. The world is one sequence-parallel group (no data parallelism).
 */
public final class ShardedEvalModel implements EvalModel {

    private static final int PAD = 0;

    private final Backend backend;
    private final LlamaModel model;
    private final Communicator world;
    private final ParallelConfig parallel;
    /** Splitting communicators is a collective, so each padded length's rank is made once and kept. */
    private final Map<Integer, ParallelRank> ranks = new HashMap<>();

    public ShardedEvalModel(Backend backend, LlamaModel model, Communicator world, ParallelConfig parallel) {
        if (parallel.dpDegree() != 1 || parallel.worldSize() != world.size()) {
            throw new IllegalArgumentException("an evaluation runs one sequence over all " + world.size()
                    + " ranks; " + parallel + " does not");
        }
        this.backend = backend;
        this.model = model;
        this.world = world;
        this.parallel = parallel;
    }

    /** The length {@code length} tokens are padded to. */
    public int paddedLength(int length) {
        int multiple = 2 * parallel.spDegree();
        return (length + multiple - 1) / multiple * multiple;
    }

    @Override
    public Map<Integer, double[]> logitsAt(int[] sequence, int[] positions) {
        Shard shard = shard(sequence);
        int[] rows = Arrays.stream(positions).map(p -> shard.localRow[p]).filter(r -> r >= 0).toArray();
        double[][] logits = model.logitsAt(backend, shard.ids, shard.positions, 1, rows, shard.rank.attention());
        Map<Integer, double[]> byPosition = new LinkedHashMap<>();
        for (int i = 0; i < rows.length; i++) {
            byPosition.put(shard.positions[rows[i]], logits[i]);
        }
        return byPosition;
    }

    @Override
    public Nll nll(int[] sequence, int[] targets) {
        if (targets.length != sequence.length) {
            throw new IllegalArgumentException(sequence.length + " tokens but " + targets.length + " targets");
        }
        Shard shard = shard(sequence);
        int[] padded = Arrays.copyOf(targets, shard.localRow.length);
        Arrays.fill(padded, targets.length, padded.length, LlamaModel.IGNORE_INDEX);
        int[] local = shard.rank.shard(padded, 1);
        double sum = model.loss(backend, shard.ids, shard.positions, local, 1, shard.rank.attention());
        return new Nll(sum, LlamaModel.countTargets(local));
    }

    @Override
    public double sumOverRanks(double value) {
        return world.allReduce(value, ReduceOp.SUM);
    }

    /** This rank's ids and global positions, and for every global position its local row (−1: another rank's). */
    private record Shard(ParallelRank rank, int[] ids, int[] positions, int[] localRow) {
    }

    private Shard shard(int[] sequence) {
        int length = paddedLength(sequence.length);
        ParallelRank rank = ranks.computeIfAbsent(length, n -> {
            parallel.validate(n, model.config().numAttentionHeads(), model.config().numKeyValueHeads());
            return ParallelRank.create(world, parallel, n);
        });
        int[] padded = Arrays.copyOf(sequence, length);
        Arrays.fill(padded, sequence.length, length, PAD);
        int[] positions = rank.positionIds(1);
        int[] localRow = new int[length];
        Arrays.fill(localRow, -1);
        for (int i = 0; i < positions.length; i++) {
            localRow[positions[i]] = i;
        }
        return new Shard(rank, rank.shard(padded, 1), positions, localRow);
    }
}
