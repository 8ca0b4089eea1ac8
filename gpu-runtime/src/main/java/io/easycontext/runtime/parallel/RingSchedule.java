package io.easycontext.runtime.parallel;

import java.util.ArrayList;
import java.util.List;

/**
 * The kernel calls of one ring rank, step by step ({@link ChunkBlock#cover} of its chunks against those in hand), and
 * the sizes of the buffers they need, in chunks of one sequence, which the memory planner reads as well.
 */
public final class RingSchedule {
    private final List<List<ChunkBlock>> steps;
    private final int chunks;

    private RingSchedule(List<List<ChunkBlock>> steps, int chunks) {
        this.steps = steps;
        this.chunks = chunks;
    }

    /** Rank {@code rank} of a ring of {@code size}, holding the chunks {@code layout} gives it. */
    public static RingSchedule of(TokenLayout layout, int rank, int size) {
        int[] mine = layout.ringChunks(rank);
        List<List<ChunkBlock>> steps = new ArrayList<>();
        for (int s = 0; s < size; s++) {
            steps.add(ChunkBlock.cover(mine, layout.ringChunks(Math.floorMod(rank - s, size))));
        }
        return new RingSchedule(steps, mine.length);
    }

    List<ChunkBlock> step(int s) {
        return steps.get(s);
    }

    /**
     * Whether step 0 is one block over all the rank's chunks against its own: it then writes the outputs (out and
     * lse, or dq, dk and dv) itself, since they hold nothing yet, with no block buffer and no merge or sum.
     */
    public boolean direct() {
        List<ChunkBlock> first = steps.get(0);
        return first.size() == 1 && first.get(0).qCount() == chunks && first.get(0).kCount() == chunks;
    }

    /** The most query chunks of a block that goes through the block buffers (every one but a direct step 0's). */
    public int bufferedQueryChunks() {
        return most(true, true);
    }

    /** The most key chunks of a block that goes through the block buffers. */
    public int bufferedKeyChunks() {
        return most(true, false);
    }

    /** The most query chunks of any block: its lse is gathered from the chunks' own when there are several. */
    public int queryChunks() {
        return most(false, true);
    }

    private int most(boolean bufferedOnly, boolean query) {
        int most = 0;
        for (int s = bufferedOnly && direct() ? 1 : 0; s < steps.size(); s++) {
            for (ChunkBlock b : steps.get(s)) {
                most = Math.max(most, query ? b.qCount() : b.kCount());
            }
        }
        return most;
    }
}
