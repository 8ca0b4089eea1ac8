package io.easycontext.runtime.parallel;

import java.util.Arrays;
import java.util.stream.Collectors;

/** EasyContext's {@code --parallel_mode}: how the ranks of one sequence-parallel group share a sequence. */
public enum ParallelMode {
    /** No sequence parallelism: every rank holds whole sequences; all ranks are data-parallel. */
    DATA_PARALLEL("data_parallel"),
    /** Contiguous shards; key/value blocks travel around a ring (ring-flash-attention). */
    RING_ATTN("ring_attn"),
    /** Ring attention over zigzag shards (chunks r and 2W−1−r), so every step costs every rank the same. */
    ZIGZAG_RING_ATTN("zigzag_ring_attn"),
    /** DeepSpeed-Ulysses: all-to-all from sequence shards to head shards, local attention, and back. */
    ULYSSES_ATTN("ulysses_attn"),
    /** LightSeq's DistFlashAttn: contiguous shards; ranks with less causal work compute blocks for the others. */
    DIST_FLASH_ATTN("dist_flash_attn"),
    /** Unified sequence parallelism: Ulysses inside, zigzag ring across Ulysses groups. */
    USP_ATTN("usp_attn"),
    /**
     * Not a layout: a training's request that the mode be chosen ({@link ModeChoice}), made concrete before any
     * {@link ParallelConfig} exists.
     */
    AUTO("auto");

    private final String cliName;

    ParallelMode(String cliName) {
        this.cliName = cliName;
    }

    /** The name EasyContext and the CLI use. */
    public String cliName() {
        return cliName;
    }

    public static ParallelMode parse(String name) {
        for (ParallelMode m : values()) {
            if (m.cliName.equals(name)) {
                return m;
            }
        }
        throw new ParallelConfigException("unknown parallel mode '" + name + "'; expected one of "
                + Arrays.stream(values()).map(ParallelMode::cliName).collect(Collectors.joining(", ")));
    }

    @Override
    public String toString() {
        return cliName;
    }
}
