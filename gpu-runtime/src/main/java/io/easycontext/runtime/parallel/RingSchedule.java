package io.easycontext.runtime.parallel;

import java.util.ArrayList;
import java.util.List;

/**
 * The kernel calls of one ring rank, step by step ({@link ChunkBlock#cover} of its chunks against those in hand), and
 * the sizes of the buffers they need, in chunks of one sequence, which the memory planner reads as well.
 *
 * <p>By default one call per visible chunk pair. With {@code -Deasycontext.ring.blocks=merged} adjacent chunks merge
 * into longer calls (a zigzag step is one call): on 2 × H200 at 128K tokens (Llama-2-7B, zigzag), side by side in
 * one device call, that ran the attention backward 2.4% slower than the pairs (5,460 against 5,527 tokens/s), so it
 * is an option to measure, not the default (benchmarks.md).
 */
public final class RingSchedule {
    /** System property that picks the blocks: {@code pairs} (default) or {@code merged}. */
    public static final String PROPERTY = "easycontext.ring.blocks";

    private final List<List<ChunkBlock>> steps;
    private final int chunks;

    private RingSchedule(List<List<ChunkBlock>> steps, int chunks) {
        this.steps = steps;
        this.chunks = chunks;
    }

    /** Rank {@code rank} of a ring of {@code size}, holding the chunks {@code layout} gives it. */
    public static RingSchedule of(TokenLayout layout, int rank, int size) {
        return of(layout, rank, size, mergedFromSystemProperty());
    }

    static RingSchedule of(TokenLayout layout, int rank, int size, boolean merged) {
        int[] mine = layout.ringChunks(rank);
        List<List<ChunkBlock>> steps = new ArrayList<>();
        for (int s = 0; s < size; s++) {
            steps.add(ChunkBlock.cover(mine, layout.ringChunks(Math.floorMod(rank - s, size)), merged));
        }
        return new RingSchedule(steps, mine.length);
    }

    /** Whether {@link #PROPERTY} asks for merged blocks; anything but {@code pairs} or {@code merged} is refused. */
    static boolean mergedFromSystemProperty() {
        String value = System.getProperty(PROPERTY, "pairs");
        return switch (value) {
            case "pairs" -> false;
            case "merged" -> true;
            default -> throw new IllegalArgumentException(PROPERTY + " must be pairs or merged, not " + value);
        };
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
