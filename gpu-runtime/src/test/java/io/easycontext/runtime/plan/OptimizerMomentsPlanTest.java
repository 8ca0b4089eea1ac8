package io.easycontext.runtime.plan;

import io.easycontext.runtime.comm.RankDevices;
import io.easycontext.runtime.model.FlatLayout;
import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.model.LlamaModel;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.optim.OptimizerMoments;
import io.easycontext.runtime.optim.zero.OffloadMode;
import io.easycontext.runtime.optim.zero.ShardedOptimizer;
import io.easycontext.runtime.optim.zero.Sharding;
import io.easycontext.runtime.parallel.ParallelConfig;
import io.easycontext.runtime.parallel.ParallelMode;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.train.TrainConfig;
import org.junit.jupiter.api.Test;

import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The planner with {@code --optimizer-moments bf16}: each moment 2 bytes a parameter instead of 4, on the device, in
 * the streamed update's staging and in host memory, master weights still fp32; {@code --auto} plans with the
 * user's moments and never picks bf16 for them.
 */
class OptimizerMomentsPlanTest {

    private static final LlamaConfig LLAMA_7B = LlamaConfig.preset("llama2-7b");
    private static final long P = LLAMA_7B.parameterCount();
    private static final long GIB = 1L << 30;
    private static final int SEQ = 262144;

    private static MemoryEstimate estimate(Sharding sharding, int parked, OptimizerMoments moments) {
        LlamaModel.Options chunks = LlamaModel.Options.DEFAULTS;
        return MemoryPlanner.estimate(LLAMA_7B, SEQ, ParallelMode.DATA_PARALLEL, 1, chunks.lossChunkTokens(),
                chunks.mlpChunkTokens(), sharding, 1, parked, moments);
    }

    @Test
    void sevenBsReplicatedMomentsTakeFourBytesAParameterInsteadOfEight() {
        MemoryEstimate fp32 = estimate(Sharding.REPLICATED, 0, OptimizerMoments.FP32);
        MemoryEstimate bf16 = estimate(Sharding.REPLICATED, 0, OptimizerMoments.BF16);
        assertThat(P).isEqualTo(6_738_415_616L);
        assertThat(fp32.optimizerMoments()).isEqualTo(8 * P);
        assertThat(bf16.optimizerMoments()).isEqualTo(4 * P); // 25.10 GiB instead of 50.21
        assertThat(bf16.masterWeights()).isEqualTo(fp32.masterWeights()).isEqualTo(4 * P);
        assertThat(fp32.total() - bf16.total()).isEqualTo(4 * P);
        assertThat(bf16.components()).containsEntry("AdamW moments (bf16)", 4 * P);
        assertThat(fp32.components()).containsEntry("AdamW moments (fp32)", 8 * P);
        // Nothing else moves.
        assertThat(bf16.parameters() + bf16.gradients() + bf16.checkpoints() + bf16.layerWorkingSet())
                .isEqualTo(fp32.parameters() + fp32.gradients() + fp32.checkpoints() + fp32.layerWorkingSet());
        // The fp32-moments default is what the planner said before the option.
        assertThat(MemoryPlanner.estimate(LLAMA_7B, SEQ, ParallelMode.DATA_PARALLEL, 1,
                LlamaModel.Options.DEFAULTS.lossChunkTokens(), LlamaModel.Options.DEFAULTS.mlpChunkTokens(),
                Sharding.REPLICATED, 1, 0)).isEqualTo(fp32);
    }

    @Test
    void streamedStateTakesEightBytesAParameterOfHostMemoryAndHalfTheMomentStaging() {
        Sharding streamed = new Sharding(1, OffloadMode.GPU_STREAM);
        long shard = FlatLayout.of(LlamaWeights.layout(LLAMA_7B), 1).shardSize();
        long staging = ShardedOptimizer.CHUNKS_IN_FLIGHT * (long) ShardedOptimizer.DEFAULT_CHUNK_ELEMENTS;
        long checkpoint = (long) SEQ * LLAMA_7B.hiddenSize() * 2;
        MemoryEstimate fp32 = estimate(streamed, 21, OptimizerMoments.FP32);
        MemoryEstimate bf16 = estimate(streamed, 21, OptimizerMoments.BF16);
        assertThat(fp32.hostMemory()).isEqualTo(12 * shard + 21 * checkpoint);
        assertThat(bf16.hostMemory()).isEqualTo(8 * shard + 21 * checkpoint);
        assertThat(fp32.hostMemory() - bf16.hostMemory()).isEqualTo(4 * shard); // 25.10 GiB
        assertThat(bf16.masterWeights()).isEqualTo(fp32.masterWeights()).isEqualTo(4 * staging);
        assertThat(bf16.optimizerMoments()).isEqualTo(2 * 2 * staging);
        assertThat(fp32.optimizerMoments()).isEqualTo(2 * 4 * staging);
        MemoryEstimate cpu = estimate(new Sharding(1, OffloadMode.CPU), 0, OptimizerMoments.BF16);
        assertThat(cpu.hostMemory()).isEqualTo(8 * shard + 2 * 2 * staging);
        assertThat(cpu.optimizerMoments()).isZero();
    }

    /**
     * The headline: 7B at 256K tokens on one 80 GB GPU (a 78 GiB pool) with 112 GiB of host memory fits only with
     * bf16 moments, which {@code --auto} plans with only when asked for.
     */
    @Test
    void autoKeepsTheUsersMomentsAndOnlyBf16MomentsFit256KOfSevenBInA112GibHost() {
        long device = 78 * GIB;
        long host = 112 * GIB;
        LlamaModel.Options chunks = LlamaModel.Options.DEFAULTS;
        Optional<MemoryPlanner.Choice> fp32 = MemoryPlanner.choose(LLAMA_7B, SEQ, ParallelMode.DATA_PARALLEL, 1,
                chunks.lossChunkTokens(), chunks.mlpChunkTokens(), 1, true, device, host);
        Optional<MemoryPlanner.Choice> bf16 = MemoryPlanner.choose(LLAMA_7B, SEQ, ParallelMode.DATA_PARALLEL, 1,
                chunks.lossChunkTokens(), chunks.mlpChunkTokens(), 1, true, device, host, OptimizerMoments.BF16);
        assertThat(fp32).isEmpty();
        assertThat(bf16).hasValueSatisfying(c -> {
            assertThat(c.options().sharding()).isEqualTo(new Sharding(1, OffloadMode.GPU_STREAM));
            assertThat(c.estimate().momentsType()).isEqualTo(OptimizerMoments.BF16);
            assertThat(c.estimate().total()).isLessThanOrEqualTo((long) (device * MemoryPlanner.CHOICE_HEADROOM));
            assertThat(c.estimate().hostMemory()).isLessThanOrEqualTo(host);
            // The same options with fp32 moments need more host memory than there is.
            assertThat(estimate(c.options().sharding(), c.options().offloadedCheckpoints(), OptimizerMoments.FP32)
                    .hostMemory()).isGreaterThan(host);
        });

        // A training run's own choice keeps its moments, whichever they are.
        ParallelConfig parallel = ParallelConfig.resolve(ParallelMode.DATA_PARALLEL, 1, ParallelConfig.UNSET,
                ParallelConfig.UNSET, ParallelConfig.UNSET);
        TrainConfig run = new TrainConfig(LLAMA_7B.withRope(LLAMA_7B.ropeTheta(), SEQ), parallel, SEQ, 1, 1, 1, 2e-5,
                0, 0, 1, 1, RankDevices.cpu(1, DType.F32), true, Sharding.REPLICATED, 0, OptimizerMoments.BF16);
        assertThat(MemoryPlanner.estimate(run).momentsType()).isEqualTo(OptimizerMoments.BF16);
        assertThat(MemoryPlanner.estimate(run).optimizerMoments()).isEqualTo(4 * P);
        assertThat(MemoryPlanner.choose(run, device, host)).hasValueSatisfying(c -> assertThat(MemoryPlanner.estimate(
                run.withMemory(c.options().sharding(), c.options().offloadedCheckpoints(),
                        c.options().keptAttentionLayers()))).isEqualTo(c.estimate()));
        assertThat(MemoryPlanner.choose(run.withOptimizerMoments(OptimizerMoments.FP32), device, host)).isEmpty();
    }

    @Test
    void theCliTakesTheMomentsTypeAndPrintsIt() {
        String[] headline = {"plan", "--model", "llama2-7b", "--gpus", "1", "--seq-length", "262144",
                "--gpu-memory-gib", "78", "--host-memory-gib", "112", "--auto"};
        StringBuilder fp32 = new StringBuilder();
        assertThat(MemoryPlannerTest.plan(fp32, headline)).isEqualTo(3);
        assertThat(fp32).contains("no sharding or offload fits").contains("--optimizer-moments bf16");

        StringBuilder bf16 = new StringBuilder();
        String[] withBf16 = java.util.Arrays.copyOf(headline, headline.length + 2);
        withBf16[headline.length] = "--optimizer-moments";
        withBf16[headline.length + 1] = "bf16";
        assertThat(MemoryPlannerTest.plan(bf16, withBf16)).as(bf16.toString()).isZero();
        assertThat(bf16).contains("choose: --zero-stage 1 --optimizer-offload gpu_stream --offload-checkpoints ")
                .contains(" --optimizer-moments bf16\n").contains("; optimizer_moments bf16")
                .contains("AdamW moments (bf16)").contains("fits: ");

        StringBuilder replicated = new StringBuilder();
        assertThat(MemoryPlannerTest.plan(replicated, "plan", "--model", "llama2-7b", "--seq-length", "4096", "--optimizer-moments",
                "bf16", "--gpu-memory-gib", "80")).isZero();
        assertThat(replicated).containsPattern("AdamW moments \\(bf16\\) +25\\.10 GiB")
                .containsPattern("master weights \\(fp32\\) +25\\.10 GiB");

        StringBuilder bad = new StringBuilder();
        assertThat(MemoryPlannerTest.plan(bad, "plan", "--optimizer-moments", "fp16")).isEqualTo(2);
        assertThat(bad).contains("known: fp32, bf16");
    }
}
