package io.easycontext.runtime.parallel;

import io.easycontext.runtime.comm.Communicator;
import io.easycontext.runtime.model.AttentionOp;
import io.easycontext.runtime.model.LocalAttention;

/**
 * One rank's place in a {@link ParallelConfig}: its coordinates, its communicators, the tokens it holds and the
 * attention op of its mode.
 *
 * <p>Ranks are laid out {@code world = dpRank·sp + spRank} and {@code spRank = ringRank·U + ulyssesRank}: a
 * sequence-parallel group is a block of consecutive ranks (one host's GPUs, on NVLink), and inside it each Ulysses
 * group too, since the all-to-all moves the most data; the ring, which only talks to neighbours, strides across
 * Ulysses groups.
 */
public final class ParallelRank {
    private final ParallelConfig config;
    private final Communicator world;
    private final int dpRank;
    private final int ringRank;
    private final int ulyssesRank;
    private final TokenLayout layout;
    private final AttentionOp attention;

    private ParallelRank(ParallelConfig config, Communicator world, int dpRank, int ringRank, int ulyssesRank,
                         TokenLayout layout, AttentionOp attention) {
        this.config = config;
        this.world = world;
        this.dpRank = dpRank;
        this.ringRank = ringRank;
        this.ulyssesRank = ulyssesRank;
        this.layout = layout;
        this.attention = attention;
    }

    /**
     * Collective over {@code world}: every rank calls it with the same arguments. Splits the sequence-parallel,
     * Ulysses and ring groups and builds the mode's attention op. The config must already be validated against the
     * model and {@code seqLength}.
     */
    public static ParallelRank create(Communicator world, ParallelConfig config, int seqLength) {
        if (world.size() != config.worldSize()) {
            throw new ParallelConfigException(config + " needs a world of " + config.worldSize() + " ranks, not "
                    + world.size());
        }
        int sp = config.spDegree();
        int u = config.ulyssesDegree();
        int dpRank = world.rank() / sp;
        int spRank = world.rank() % sp;
        int ringRank = spRank / u;
        int ulyssesRank = spRank % u;
        Communicator sequence = world.split(dpRank, spRank);
        Communicator ulysses = sequence.split(ringRank, ulyssesRank);
        Communicator ring = sequence.split(ulyssesRank, ringRank);
        TokenLayout layout = TokenLayout.of(config, seqLength);
        AttentionOp attention = switch (config.mode()) {
            case DATA_PARALLEL -> LocalAttention.INSTANCE;
            case RING_ATTN, ZIGZAG_RING_ATTN -> new RingAttention(ring, layout);
            case DIST_FLASH_ATTN -> new DistFlashAttention(ring);
            case ULYSSES_ATTN -> new UlyssesAttention(ulysses, LocalAttention.INSTANCE);
            case USP_ATTN -> new UlyssesAttention(ulysses, new RingAttention(ring, layout));
            case AUTO -> throw new IllegalStateException("a layout is never auto");
        };
        return new ParallelRank(config, world, dpRank, ringRank, ulyssesRank, layout, attention);
    }

    public ParallelConfig config() {
        return config;
    }

    /** All ranks: gradients and the target count are reduced over it. */
    public Communicator world() {
        return world;
    }

    /** Which data-parallel replica (which samples) this rank works on. */
    public int dpRank() {
        return dpRank;
    }

    public TokenLayout layout() {
        return layout;
    }

    public AttentionOp attention() {
        return attention;
    }

    /** This rank's shard of {@code [batch, seqLength]} ids or targets. */
    public int[] shard(int[] global, int batch) {
        return layout.shard(global, batch, ringRank, ulyssesRank);
    }

    /** The global positions of this rank's tokens, for every sequence of the batch. */
    public int[] positionIds(int batch) {
        return layout.positionIds(batch, ringRank, ulyssesRank);
    }
}
