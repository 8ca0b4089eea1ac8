package io.easycontext.runtime.plan;

import io.easycontext.runtime.optim.zero.OffloadMode;
import io.easycontext.runtime.optim.zero.Sharding;
import io.easycontext.runtime.parallel.ParallelMode;
import io.easycontext.runtime.spec.TrainSpec;
import io.easycontext.runtime.train.TrainConfig;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The verdict that the CLI's {@code train} and the service both start GPU runs by. The runs are laid out on CPU
 * ranks, which resolve without GPUs; the GPUs' memory is given as numbers.
 */
class MemoryFitTest {

    private static final long GIB = 1L << 30;
    private static final long POOL = 78 * GIB;
    private static final long HOST = 112 * GIB;

    private static TrainConfig llama7b(int seqLength, String moments) {
        return TrainSpec.builder().model("llama2-7b").devices("cpu:1").seqLength(seqLength).optimizerMoments(moments)
                .build().toTrainConfig();
    }

    @Test
    void aRunThatFitsAsGivenStartsAsGivenWithOrWithoutAuto() {
        TrainConfig tiny = TrainSpec.builder().devices("cpu:2").parallelMode(ParallelMode.ZIGZAG_RING_ATTN)
                .seqLength(4096).build().toTrainConfig();

        MemoryFit given = MemoryFit.of(tiny, false, POOL, HOST);
        assertThat(given.fits()).isTrue();
        assertThat(given.chosen()).isEmpty();
        assertThat(given.config()).isSameAs(tiny);
        // Auto takes the cheapest options even where the given ones fit: for two ranks, ZeRO-1 is free.
        MemoryFit auto = MemoryFit.of(tiny, true, POOL, HOST);
        assertThat(auto.fits()).isTrue();
        assertThat(auto.config().sharding()).isEqualTo(new Sharding(1, OffloadMode.NONE));
    }

    /** Llama-2-7B replicated cannot fit one 78 GiB pool; streamed from host memory it does, and auto says so. */
    @Test
    void withoutAutoARunThatDoesNotFitIsRefusedNamingTheOptionsThatWould() {
        TrainConfig replicated = llama7b(4096, "fp32");

        MemoryFit given = MemoryFit.of(replicated, false, POOL, HOST);
        assertThat(given.fits()).isFalse();
        assertThat(given.asGiven().total()).isGreaterThan(POOL);
        assertThat(given.choice()).hasValueSatisfying(c -> {
            assertThat(c.options().sharding()).isEqualTo(new Sharding(1, OffloadMode.GPU_STREAM));
            assertThat(c.options().fields()).startsWith("zeroStage 1, optimizerOffload gpu_stream, offloadCheckpoints ");
        });
        assertThatThrownBy(given::config).isInstanceOf(IllegalStateException.class);

        MemoryFit auto = MemoryFit.of(replicated, true, POOL, HOST);
        MemoryPlanner.Choice chosen = auto.chosen().orElseThrow();
        assertThat(auto.fits()).isTrue();
        assertThat(auto.config()).isEqualTo(replicated.withMemory(chosen.options().sharding(),
                chosen.options().offloadedCheckpoints(), chosen.options().keptAttentionLayers()));
        assertThat(MemoryPlanner.estimate(auto.config())).isEqualTo(chosen.estimate());
    }

    /**
     * Keeping attention costs memory and saves time, so auto keeps it in as many layers as fit once the rest is
     * chosen: in every layer where memory is plentiful, in fewer where it is tight (the last layer's costs nothing
     * at the peak), in none without checkpointing; and the run then keeps it as chosen.
     */
    @Test
    void autoKeepsTheAttentionOfAsManyLayersAsFit() {
        TrainConfig small = llama7b(4096, "fp32");
        MemoryFit plentiful = MemoryFit.of(small, true, 200 * GIB, HOST);
        assertThat(plentiful.chosen().orElseThrow().options())
                .isEqualTo(MemoryOptions.NONE.withKeptAttentionLayers(32));
        assertThat(plentiful.config().keptAttentionLayers()).isEqualTo(32);

        // At 128K the state streamed from host memory is what fits, as without kept attention; then 7 layers keep it.
        TrainConfig at128k = llama7b(131072, "fp32");
        MemoryFit tight = MemoryFit.of(at128k, true, POOL, HOST);
        assertThat(tight.chosen().orElseThrow().options())
                .isEqualTo(new MemoryOptions(new Sharding(1, OffloadMode.GPU_STREAM), 0, 7));
        long usable = (long) (POOL * MemoryPlanner.CHOICE_HEADROOM);
        assertThat(tight.chosen().orElseThrow().estimate().total()).isLessThanOrEqualTo(usable);
        assertThat(MemoryPlanner.estimate(at128k, new MemoryOptions(new Sharding(1, OffloadMode.GPU_STREAM), 0, 8))
                .total()).isGreaterThan(usable);
        assertThat(tight.config().keptAttentionLayers()).isEqualTo(7);

        TrainConfig recomputing = TrainSpec.builder().model("llama2-7b").devices("cpu:1").seqLength(4096)
                .activationCheckpointing(false).build().toTrainConfig();
        assertThat(MemoryFit.of(recomputing, true, 200 * GIB, HOST).chosen().orElseThrow().options())
                .isEqualTo(MemoryOptions.NONE);
    }

    /** 7B at 256K tokens with fp32 moments outgrows a 112 GiB host under every option: auto refuses too. */
    @Test
    void withAutoARunIsRefusedOnlyWhereNoOptionFits() {
        MemoryFit fp32 = MemoryFit.of(llama7b(262144, "fp32"), true, POOL, HOST);
        assertThat(fp32.fits()).isFalse();
        assertThat(fp32.choice()).isEmpty();
        assertThat(fp32.noChoiceRemedy("seqLength", "optimizerMoments")).isEqualTo("no sharding or offload makes it "
                + "fit: more GPUs sharing each sequence, or a shorter seqLength (or, where bf16 AdamW moments are "
                + "acceptable, optimizerMoments bf16)");

        MemoryFit bf16 = MemoryFit.of(llama7b(262144, "bf16"), true, POOL, HOST);
        assertThat(bf16.fits()).isTrue();
        assertThat(bf16.noChoiceRemedy("--seq-length", "--optimizer-moments")).endsWith("shorter --seq-length");
    }

    @Test
    void cpuRanksHaveNoPoolToFitOnThisNode() {
        TrainConfig cpu = TrainSpec.builder().devices("cpu:2").build().toTrainConfig();

        assertThatThrownBy(() -> MemoryFit.onThisNode(cpu, true, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("the memory planner fits GPU ranks; cpu:2 has none");
    }
}
