package io.easycontext.runtime.plan;

import io.easycontext.runtime.cli.Main;
import io.easycontext.runtime.model.FlatLayout;
import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.model.UnitLayout;
import io.easycontext.runtime.optim.OptimizerMoments;
import io.easycontext.runtime.optim.zero.OffloadMode;
import io.easycontext.runtime.optim.zero.ShardedOptimizer;
import io.easycontext.runtime.optim.zero.Sharding;
import io.easycontext.runtime.parallel.ParallelConfig;
import io.easycontext.runtime.parallel.ParallelMode;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class MemoryPlannerTest {
    private static final double GIB = 1L << 30;
    private static final LlamaConfig LLAMA2_7B = LlamaConfig.preset("llama2-7b");

    @Test
    void predictsTheMeasuredSingleGpuPeaksWithinTwoPercent() {
        // Measured by the pool on an H200 (benchmarks.md, 2026-11-28): `bench --what train`, before the MLP was
        // recomputed in chunks, which is one chunk of all tokens, and before the backward freed each tensor after
        // its last reader. With one chunk the MLP backward sets the peak either way; then it also held dBranch, one
        // [tokens, hidden] bf16 tensor that the backward now allocates only after n2 is freed. So these runs
        // measured the planner's peak plus that tensor; the lifetimes of now are checked byte for byte on the CPU
        // (DecoderLayerMemoryTest) and await a GPU measurement.
        LlamaConfig at32kModel = LLAMA2_7B.withLayers(8);
        LlamaConfig at128kModel = LLAMA2_7B.withLayers(4);
        MemoryEstimate at32k = MemoryPlanner.estimate(at32kModel, 32768, ParallelMode.DATA_PARALLEL, 1, 1024, 32768);
        MemoryEstimate at128k = MemoryPlanner.estimate(at128kModel, 131072, ParallelMode.DATA_PARALLEL, 1, 1024,
                131072);
        long dBranchAt32k = 32768L * LLAMA2_7B.hiddenSize() * 2;
        long dBranchAt128k = 131072L * LLAMA2_7B.hiddenSize() * 2;
        assertThat(at32k.layerWorkingSet()).as("the MLP backward's peak").isEqualTo(mlpBackwardPeak(32768, 32768));
        assertThat(at128k.layerWorkingSet()).as("the MLP backward's peak").isEqualTo(mlpBackwardPeak(131072, 131072));
        assertThat((at32k.total() + dBranchAt32k) / GIB).isCloseTo(36.6, within(36.6 * 0.02));
        assertThat((at128k.total() + dBranchAt128k) / GIB).isCloseTo(46.1, within(46.1 * 0.02));
    }

    /** Llama-2-7B's MLP backward over {@code m}-token chunks: 7 recomputed activations, dNormed, 6 per chunk token. */
    private static long mlpBackwardPeak(long n, long m) {
        return (n * 8 * 4096 + m * 6 * 11008) * 2;
    }

    @Test
    void componentsScaleAsTheirCauses() {
        MemoryEstimate a = MemoryPlanner.estimate(LLAMA2_7B, 8192, ParallelMode.ZIGZAG_RING_ATTN, 1, 1024, 8192);
        MemoryEstimate b = MemoryPlanner.estimate(LLAMA2_7B, 16384, ParallelMode.ZIGZAG_RING_ATTN, 1, 1024, 16384);
        long params = LLAMA2_7B.parameterCount();
        assertThat(a.parameters()).isEqualTo(2 * params);
        assertThat(a.masterWeights()).isEqualTo(4 * params);
        assertThat(a.optimizerMoments()).isEqualTo(8 * params);
        assertThat(b.checkpoints()).isEqualTo(2 * a.checkpoints());
        assertThat(b.layerWorkingSet()).isEqualTo(2 * a.layerWorkingSet());
        assertThat(b.communication()).isEqualTo(2 * a.communication());
        assertThat(MemoryPlanner.estimate(LLAMA2_7B, 8192, ParallelMode.DATA_PARALLEL, 1, 1024, 4096).communication()).isZero();
        // Chunking the MLP recompute takes the [tokens, ffn] tensors out: at 128K tokens and a 4K chunk the
        // attention backward sets the peak: recomputed n1, q, k, v, out (5 × 4096 bf16; h and n2 are freed after
        // the MLP's backward), then dAttnOut, dq, dk, dv (4 × 4096 bf16); in the attention scratch beside them the
        // lse and, while the kernel runs, its fp32 delta and dQ accumulator (32 + 32 + 4096 fp32 per token). With
        // one chunk of all tokens, the MLP backward: 7 recomputed, dNormed, 6 × ffn; the lse beside them.
        MemoryEstimate whole = MemoryPlanner.estimate(LLAMA2_7B, 131072, ParallelMode.DATA_PARALLEL, 1, 1024, 131072);
        MemoryEstimate chunked = MemoryPlanner.estimate(LLAMA2_7B, 131072, ParallelMode.DATA_PARALLEL, 1, 1024, 4096);
        assertThat(chunked.layerWorkingSet()).isEqualTo(131072L * 9 * 4096 * 2);
        assertThat(chunked.attentionScratch()).isEqualTo(131072L * (32 + 32 + 4096) * 4);
        assertThat(whole.attentionScratch()).isEqualTo(131072L * 32 * 4);
        assertThat(whole.layerWorkingSet()).isEqualTo(131072L * (8 * 4096 + 6 * 11008) * 2)
                .isEqualTo(mlpBackwardPeak(131072, 131072));
        assertThat(a.total()).isEqualTo(a.components().values().stream().mapToLong(Long::longValue).sum());
    }

    @Test
    void theCheapestOptionsThatFitAreChosenAndNoneWhereNothingFits() {
        long device = 78L << 30;
        long host = 200L << 30;
        // Small: nothing to move, and every layer's attention kept.
        assertThat(MemoryPlanner.choose(LLAMA2_7B, 4096, ParallelMode.DATA_PARALLEL, 1, 1024, 4096, 1, true, 200L << 30,
                host)).get().extracting(MemoryPlanner.Choice::options)
                .isEqualTo(MemoryOptions.NONE.withKeptAttentionLayers(32));
        // 64K over two pools of 78 GiB fits once the state is sharded (75 GiB); in 72 GiB once the gradients are
        // too (69 GiB); in 60 GiB with the parameters sharded and 24 of the 32 checkpoints parked (58 GiB); in 40 GiB
        // only with the state streamed from host memory besides. (Before the ring stopped copying its chunks, each
        // rung needed 2 GiB more: zero 2 at 78 GiB, 28 parked at 60.) The attention is kept in as many layers as the
        // rest leaves room for, 0.25 GiB each; the last layer's is free, its backward holding it anyway.
        assertThat(MemoryPlanner.choose(LLAMA2_7B, 32768, ParallelMode.ZIGZAG_RING_ATTN, 1, 1024, 4096, 2, true,
                device, host)).get().extracting(c -> c.options().flags())
                .isEqualTo("--zero-stage 1 --optimizer-offload none --offload-checkpoints 0 --kept-attention-layers 3");
        assertThat(MemoryPlanner.choose(LLAMA2_7B, 32768, ParallelMode.ZIGZAG_RING_ATTN, 1, 1024, 4096, 2, true,
                72L << 30, host)).get().extracting(c -> c.options().flags())
                .isEqualTo("--zero-stage 2 --optimizer-offload none --offload-checkpoints 0 --kept-attention-layers 3");
        MemoryPlanner.Choice sixty = MemoryPlanner.choose(LLAMA2_7B, 32768, ParallelMode.ZIGZAG_RING_ATTN, 1, 1024,
                4096, 2, true, 60L << 30, host).orElseThrow();
        assertThat(sixty.options().flags()).isEqualTo("--zero-stage 3 --optimizer-offload none "
                + "--offload-checkpoints 24 --kept-attention-layers 1");
        assertThat(sixty.estimate().total() / GIB).isCloseTo(58.06, within(0.01));
        MemoryPlanner.Choice forty = MemoryPlanner.choose(LLAMA2_7B, 32768, ParallelMode.ZIGZAG_RING_ATTN, 1, 1024,
                4096, 2, true, 40L << 30, host).orElseThrow();
        assertThat(forty.options().flags()).isEqualTo("--zero-stage 3 --optimizer-offload gpu_stream "
                + "--offload-checkpoints 0 --kept-attention-layers 32");
        assertThat(forty.estimate().keptAttention()).isEqualTo(32 * 32768L * (4096 * 2 + 32 * 4));
        assertThat(forty.estimate().total() / GIB).isCloseTo(33.92, within(0.01));
        // 256K on one GPU: the state streamed from host memory, and the fewest checkpoints parked that make room.
        MemoryPlanner.Choice longest = MemoryPlanner.choose(LLAMA2_7B, 262144, ParallelMode.DATA_PARALLEL, 1, 1024,
                4096, 1, true, device, host).orElseThrow();
        MemoryOptions o = longest.options();
        assertThat(o.sharding()).isEqualTo(new Sharding(1, OffloadMode.GPU_STREAM));
        assertThat(longest.estimate().total()).isLessThanOrEqualTo((long) (device * MemoryPlanner.CHOICE_HEADROOM));
        MemoryEstimate oneFewer = MemoryPlanner.estimate(LLAMA2_7B, 262144, ParallelMode.DATA_PARALLEL, 1, 1024, 4096,
                o.sharding(), 1, o.offloadedCheckpoints() - 1);
        assertThat(oneFewer.total()).isGreaterThan((long) (device * MemoryPlanner.CHOICE_HEADROOM));
        assertThat(o.keptAttentionLayers()).as("the last layer's, which is free").isEqualTo(1);
        // Without the host memory for what must move, or without checkpointing to park, nothing fits.
        assertThat(MemoryPlanner.choose(LLAMA2_7B, 262144, ParallelMode.DATA_PARALLEL, 1, 1024, 4096, 1, true, device,
                100L << 30)).isEmpty();
        assertThat(MemoryPlanner.choose(LLAMA2_7B, 262144, ParallelMode.DATA_PARALLEL, 1, 1024, 4096, 1, false, device,
                host)).isEmpty();
    }

    @Test
    void parkedCheckpointsMoveToHostMemoryButTwoInFlight() {
        long n = 131072;
        long one = n * LLAMA2_7B.hiddenSize() * 2;
        MemoryEstimate kept = MemoryPlanner.estimate(LLAMA2_7B, n, ParallelMode.DATA_PARALLEL, 1, 1024, 4096,
                Sharding.REPLICATED, 1, 0);
        MemoryEstimate parked = MemoryPlanner.estimate(LLAMA2_7B, n, ParallelMode.DATA_PARALLEL, 1, 1024, 4096,
                Sharding.REPLICATED, 1, 30);
        MemoryEstimate all = MemoryPlanner.estimate(LLAMA2_7B, n, ParallelMode.DATA_PARALLEL, 1, 1024, 4096,
                Sharding.REPLICATED, 1, 99);

        assertThat(kept.checkpoints()).isEqualTo(32 * one);
        assertThat(parked.checkpoints()).isEqualTo((2 + 2) * one);
        assertThat(parked.hostMemory()).isEqualTo(30 * one);
        assertThat(all.checkpoints()).isEqualTo(2 * one);
        assertThat(all.hostMemory()).isEqualTo(32 * one);
        assertThat(kept.total() - parked.total()).isEqualTo(28 * one);
    }

    /**
     * A layer whose attention is kept holds its output and lse from its forward to its backward: at the peak, in the
     * last layer's backward, every other kept layer's are held beside the working set, which holds the last one's
     * whether kept or recomputed. Kept in more layers than there are is kept in all.
     */
    @Test
    void keptAttentionCostsAnOutputAndAnLseForEveryKeptLayerButTheLast() {
        long n = 131072;
        long one = n * 4096 * 2 + n * 32 * 4;
        ParallelConfig single = ParallelConfig.resolve(ParallelMode.DATA_PARALLEL, 1, 0, 0, 0);
        MemoryEstimate[] e = new MemoryEstimate[4];
        int[] kept = {0, 1, 32, 99};
        for (int i = 0; i < kept.length; i++) {
            e[i] = MemoryPlanner.estimate(LLAMA2_7B, n, single, 1, 1024, 4096,
                    new MemoryOptions(Sharding.REPLICATED, 30, kept[i]), OptimizerMoments.FP32);
        }
        assertThat(e[0].keptAttention()).isZero();
        assertThat(e[1].keptAttention()).isEqualTo(one);
        assertThat(e[1].total()).isEqualTo(e[0].total());
        assertThat(e[1].layerWorkingSet()).isEqualTo(e[0].layerWorkingSet() - n * 4096 * 2);
        assertThat(e[2].keptAttention()).isEqualTo(32 * one);
        assertThat(e[2].total() - e[0].total()).isEqualTo(31 * one);
        assertThat(e[3]).isEqualTo(e[2]);
        assertThat(e[2].checkpoints()).as("parking is apart").isEqualTo(e[0].checkpoints());
    }

    @Test
    void aShardedOptimizerKeepsTwelveBytesPerParameterOfItsShard() {
        long params = LLAMA2_7B.parameterCount();
        MemoryEstimate replicated = MemoryPlanner.estimate(LLAMA2_7B, 8192, ParallelMode.DATA_PARALLEL, 1, 1024, 4096);
        for (int world : new int[]{1, 2, 8}) {
            MemoryEstimate e = MemoryPlanner.estimate(LLAMA2_7B, 8192, ParallelMode.DATA_PARALLEL, 1, 1024, 4096,
                    new Sharding(1, OffloadMode.NONE), world);
            long shard = FlatLayout.of(LlamaWeights.layout(LLAMA2_7B), world).shardSize();
            assertThat(e.masterWeights()).isEqualTo(4 * shard);
            assertThat(e.optimizerMoments()).isEqualTo(8 * shard);
            // Alignment and padding add less than a millionth.
            assertThat((double) e.masterWeights() + e.optimizerMoments()).isCloseTo(12.0 * params / world,
                    within(12e-6 * params / world));
            assertThat(replicated.total() - e.total()).isEqualTo(12 * params - 12 * shard);
            assertThat(e.parameters()).as("parameters and gradients stay whole").isEqualTo(replicated.parameters());
            assertThat(e.hostMemory()).isZero();
        }
    }

    @Test
    void stageTwoShardsTheGradientsAndStageThreeTheParametersTooBesideTheirUnitBuffers() {
        long params = LLAMA2_7B.parameterCount();
        int world = 4;
        UnitLayout units = UnitLayout.of(LLAMA2_7B, world);
        long layer = units.largestLayer();
        assertThat(layer).isEqualTo(LLAMA2_7B.hiddenSize() * 2L + 4L * 4096 * 4096 + 3L * 4096 * 11008);
        MemoryEstimate one = MemoryPlanner.estimate(LLAMA2_7B, 8192, ParallelMode.DATA_PARALLEL, 1, 1024, 4096,
                new Sharding(1, OffloadMode.NONE), world);
        MemoryEstimate two = MemoryPlanner.estimate(LLAMA2_7B, 8192, ParallelMode.DATA_PARALLEL, 1, 1024, 4096,
                new Sharding(2, OffloadMode.NONE), world);
        MemoryEstimate three = MemoryPlanner.estimate(LLAMA2_7B, 8192, ParallelMode.DATA_PARALLEL, 1, 1024, 4096,
                new Sharding(3, OffloadMode.NONE), world);
        // Stage 2: the gradient shard and the one layer's buffer the backward of the peak accumulates into.
        assertThat(two.gradients()).isEqualTo(2 * (units.shardSize() + layer));
        assertThat(two.parameters()).isEqualTo(2 * units.size());
        assertThat((double) two.parameters()).isCloseTo(2.0 * params, within(2e-4 * params));
        // Stage 3: the value shard and two gathered layers (the one computing, the next one in flight).
        assertThat(three.parameters()).isEqualTo(2 * (units.shardSize() + 2 * layer));
        assertThat(three.gradients()).isEqualTo(two.gradients());
        // The state is the unit layout's shard: 12 bytes a parameter over the ranks either way.
        assertThat(two.masterWeights()).isEqualTo(4 * units.shardSize());
        assertThat(three.optimizerMoments()).isEqualTo(8 * units.shardSize());
        assertThat((double) units.shardSize()).isCloseTo((double) params / world, within(1e-4 * params / world));
        // Each stage saves (W-1)/W of what it shards, less its unit buffers: one layer's gradients, two layers'
        // gathered parameters.
        assertThat(one.total() - two.total()).isEqualTo(one.gradients() - two.gradients()
                + one.masterWeights() + one.optimizerMoments() - two.masterWeights() - two.optimizerMoments());
        assertThat((one.total() - two.total()) / GIB).isCloseTo((2.0 * params * 3 / 4 - 2.0 * layer) / GIB,
                within(0.01));
        assertThat((two.total() - three.total()) / GIB).isCloseTo((2.0 * params * 3 / 4 - 2.0 * 2 * layer) / GIB,
                within(0.01));
        // A tied embedding's gradient waits from the loss to the end of the backward beside the layer's.
        LlamaConfig tied = LLAMA2_7B.withTiedEmbeddings(true);
        UnitLayout tiedUnits = UnitLayout.of(tied, world);
        assertThat(MemoryPlanner.estimate(tied, 8192, ParallelMode.DATA_PARALLEL, 1, 1024, 4096,
                new Sharding(2, OffloadMode.NONE), world).gradients())
                .isEqualTo(2 * (tiedUnits.shardSize() + tiedUnits.largestLayer() + tiedUnits.unit(0).size()));
    }

    @Test
    void offloadMovesTheShardToHostMemoryAndKeepsOnlyStagingOnTheDevice() {
        long shard = FlatLayout.of(LlamaWeights.layout(LLAMA2_7B), 2).shardSize();
        long chunk = ShardedOptimizer.DEFAULT_CHUNK_ELEMENTS;
        MemoryEstimate streamed = MemoryPlanner.estimate(LLAMA2_7B, 8192, ParallelMode.DATA_PARALLEL, 1, 1024, 4096,
                new Sharding(1, OffloadMode.GPU_STREAM), 2);
        assertThat(streamed.masterWeights() + streamed.optimizerMoments()).isEqualTo(3 * chunk * 12);
        assertThat(streamed.hostMemory()).isEqualTo(12 * shard);
        MemoryEstimate cpu = MemoryPlanner.estimate(LLAMA2_7B, 8192, ParallelMode.DATA_PARALLEL, 1, 1024, 4096,
                new Sharding(1, OffloadMode.CPU), 2);
        assertThat(cpu.masterWeights() + cpu.optimizerMoments()).isZero();
        assertThat(cpu.hostMemory()).isEqualTo(12 * shard + 3 * chunk * 4);
        assertThat(cpu.total()).isEqualTo(streamed.total() - 3 * chunk * 12);
        // What the sharding is for: Llama-2-7B at 8K tokens does not fit one 80 GiB GPU replicated, and does offloaded.
        MemoryEstimate replicated = MemoryPlanner.estimate(LLAMA2_7B, 8192, ParallelMode.DATA_PARALLEL, 1, 1024, 4096);
        MemoryEstimate offloaded = MemoryPlanner.estimate(LLAMA2_7B, 8192, ParallelMode.DATA_PARALLEL, 1, 1024, 4096,
                new Sharding(1, OffloadMode.CPU), 1);
        assertThat(replicated.total() / GIB).isGreaterThan(80);
        assertThat(offloaded.total() / GIB).isLessThan(80);
        assertThat(offloaded.hostMemory() / GIB).isCloseTo(12.0 * LLAMA2_7B.parameterCount() / GIB, within(0.1));
    }

    @Test
    void onlyAShardedOptimizerOffloads() {
        assertThatThrownBy(() -> new Sharding(0, OffloadMode.CPU)).hasMessageContaining("needs ZeRO stage 1");
        assertThatThrownBy(() -> new Sharding(4, OffloadMode.NONE)).hasMessageContaining("ZeRO stage 4 is not supported");
    }

    /** Runs the CLI's {@code plan} (args include it), appending what it printed to {@code text}; the exit code. */
    static int plan(StringBuilder text, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(out, true, StandardCharsets.UTF_8));
        text.append(out.toString(StandardCharsets.UTF_8));
        return code;
    }

    /**
     * plan takes the first layout whose memory fits: Ulysses' head-sharded copies make it 0.25 GiB larger than the
     * zigzag ring at 128K over two GPUs (87.36 against 87.11 GiB under ZeRO-1), so a pool between them gets the ring.
     */
    @Test
    void planTakesTheFastestLayoutThatFits() {
        String[] common = {"plan", "--model", "llama2-7b", "--gpus", "2", "--seq-length", "131072", "--parallel-mode",
                "auto", "--zero-stage", "1", "--host-memory-gib", "240"};
        StringBuilder roomy = new StringBuilder();
        assertThat(plan(roomy, withFlags(common, "--gpu-memory-gib", "100"))).as(roomy.toString()).isZero();
        assertThat(roomy).contains("mode: --parallel-mode ulysses_attn").contains("ulysses_attn (world 2");
        StringBuilder tight = new StringBuilder();
        assertThat(plan(tight, withFlags(common, "--gpu-memory-gib", "87.2"))).as(tight.toString())
                .isZero();
        assertThat(tight).contains("mode: --parallel-mode zigzag_ring_attn");
        StringBuilder none = new StringBuilder();
        assertThat(plan(none, withFlags(common, "--gpu-memory-gib", "60"))).isEqualTo(3);
        assertThat(none).contains("mode: --parallel-mode ulysses_attn").contains("does not fit");
        StringBuilder both = new StringBuilder();
        assertThat(plan(both, withFlags(common, "--ulysses-degree", "2"))).isEqualTo(2);
        assertThat(both).contains("--parallel-mode auto chooses the Ulysses and ring degrees");
    }

    private static String[] withFlags(String[] common, String... more) {
        String[] all = java.util.Arrays.copyOf(common, common.length + more.length);
        System.arraycopy(more, 0, all, common.length, more.length);
        return all;
    }

    @Test
    void theCliSaysWhetherARunFitsWithTheNumbers() {
        StringBuilder fits = new StringBuilder();
        assertThat(plan(fits, "plan", "--model", "tiny", "--seq-length", "4096", "--gpu-memory-gib", "80")).isZero();
        assertThat(fits).contains("activation checkpoints").contains("fits: ");

        StringBuilder tooBig = new StringBuilder();
        assertThat(plan(tooBig, "plan", "--model", "llama2-7b", "--seq-length", "262144", "--gpu-memory-gib", "80")).isEqualTo(3);
        assertThat(tooBig).containsPattern("does not fit: needs [0-9.]+ GiB per rank, 80.00 GiB available");

        StringBuilder sharded = new StringBuilder();
        assertThat(plan(sharded, "plan", "--model", "llama2-7b", "--seq-length", "8192", "--gpu-memory-gib", "80",
                "--host-memory-gib", "200")).isEqualTo(3);
        // Refused as given, it names the cheapest options that fit, as train does.
        assertThat(sharded).containsPattern("does not fit: needs [0-9.]+ GiB per rank, 80.00 GiB available; these "
                + "options fit: --zero-stage 1 --optimizer-offload gpu_stream --offload-checkpoints 0 "
                + "--kept-attention-layers 32 \\([0-9.]+ GiB per "
                + "rank; or --auto\\)");
        assertThat(plan(sharded, "plan", "--model", "llama2-7b", "--seq-length", "8192", "--gpu-memory-gib", "80",
                "--zero-stage", "1", "--optimizer-offload", "cpu")).as(sharded.toString()).isZero();
        assertThat(sharded).contains("zero_stage 1, optimizer_offload cpu")
                .containsPattern("host memory per rank \\(state, checkpoints\\) +7[0-9]\\.[0-9]{2} GiB");
        StringBuilder stage3 = new StringBuilder();
        assertThat(plan(stage3, "plan", "--model", "llama2-7b", "--gpus", "2", "--seq-length", "65536",
                "--gpu-memory-gib", "80", "--zero-stage", "3")).as(stage3.toString()).isZero();
        assertThat(stage3).contains("zero_stage 3, optimizer_offload none");
        StringBuilder oneRank = new StringBuilder();
        assertThat(plan(oneRank, "plan", "--model", "tiny", "--zero-stage", "2")).isEqualTo(2);
        assertThat(oneRank).contains("one rank has nothing to shard them with");
        StringBuilder kept = new StringBuilder();
        assertThat(plan(kept, "plan", "--model", "llama2-7b", "--seq-length", "131072", "--gpu-memory-gib", "80",
                "--zero-stage", "1", "--optimizer-offload", "gpu_stream", "--kept-attention-layers", "9"))
                .as(kept.toString()).isZero();
        // Nine layers' [128K, 4096] bf16 output and [32, 128K] fp32 lse.
        assertThat(kept).containsPattern("kept attention outputs +9\\.14 GiB");
        StringBuilder keptAndAuto = new StringBuilder();
        assertThat(plan(keptAndAuto, "plan", "--kept-attention-layers", "2", "--auto")).isEqualTo(2);
        assertThat(keptAndAuto).contains("--auto chooses --zero-stage, --optimizer-offload, --offload-checkpoints "
                + "and --kept-attention-layers; give either it or them");
        StringBuilder offloadAlone = new StringBuilder();
        assertThat(plan(offloadAlone, "plan", "--optimizer-offload", "cpu")).isEqualTo(2);
        assertThat(offloadAlone).contains("needs ZeRO stage 1");

        StringBuilder bad = new StringBuilder();
        assertThat(plan(bad, "plan", "--model", "tiny", "--gpus", "4", "--seq-length", "100")).isEqualTo(2);
        assertThat(bad).contains("zigzag_ring_attn needs seq_length divisible by 2 × ring size (2×4=8): 100 is not");
    }
}
