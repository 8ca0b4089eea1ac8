package io.easycontext.runtime.optim.zero;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.backend.cpu.CpuBackend;
import io.easycontext.runtime.comm.InProcessRanks;
import io.easycontext.runtime.model.FlatLayout;
import io.easycontext.runtime.model.LlamaConfig;
import io.easycontext.runtime.model.LlamaModel;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.model.Parameter;
import io.easycontext.runtime.model.ParameterUnits;
import io.easycontext.runtime.model.UnitLayout;
import io.easycontext.runtime.parallel.GradientSync;
import io.easycontext.runtime.parallel.ParallelConfig;
import io.easycontext.runtime.parallel.ParallelMode;
import io.easycontext.runtime.parallel.ParallelRank;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * One forward and backward through {@link ShardedParameters} on in-process ranks against the replicated model whose
 * gradients {@link GradientSync} all-reduces: each rank's gradient shard holds exactly (bit for bit) its part of the
 * all-reduced gradients, while no rank ever holds more than one decoder layer's whole gradients (and a tied
 * embedding's, which wait from the loss to the end of the backward) nor, under stage 3, more than two gathered units
 * beside the final norm. The unit layout covers every parameter once, aligned, in shards that add up.
 */
class ShardedParametersTest {

    private static final int LAYERS = 3;
    private static final int T = 16;

    private static LlamaConfig model(boolean tied) {
        return new LlamaConfig(24, 40, LAYERS, 4, 2, 6, 37, 1e-5, 10000, 64, tied, 0.3, null);
    }

    /** Every call of the model passes through, and the most units held at once are counted. */
    private static final class Counting implements ParameterUnits {
        final ShardedParameters p;
        int maxGathered;
        int maxGradients;
        long maxGradientElements;

        Counting(ShardedParameters p) {
            this.p = p;
        }

        private void count() {
            maxGathered = Math.max(maxGathered, p.gatheredUnits());
            maxGradients = Math.max(maxGradients, p.gradientUnits());
            maxGradientElements = Math.max(maxGradientElements, p.gradientElements());
        }

        @Override
        public int embeddingUnit() {
            return p.embeddingUnit();
        }

        @Override
        public int layerUnit(int layer) {
            return p.layerUnit(layer);
        }

        @Override
        public int normUnit() {
            return p.normUnit();
        }

        @Override
        public int lmHeadUnit() {
            return p.lmHeadUnit();
        }

        @Override
        public void gather(int unit) {
            p.gather(unit);
            count();
        }

        @Override
        public void prefetch(int unit) {
            p.prefetch(unit);
            count();
        }

        @Override
        public void release(int unit) {
            p.release(unit);
        }

        @Override
        public void gradients(int unit) {
            p.gradients(unit);
            count();
        }

        @Override
        public void reduce(int unit) {
            p.reduce(unit);
        }

        @Override
        public Parameter embedding() {
            return p.embedding();
        }

        @Override
        public LlamaWeights.Layer layer(int l) {
            return p.layer(l);
        }

        @Override
        public Parameter norm() {
            return p.norm();
        }

        @Override
        public Parameter lmHead() {
            return p.lmHead();
        }
    }

    private record RankResult(double loss, Map<String, double[]> wantShard, Map<String, double[]> gotShard,
                              int maxGathered, int maxGradients, long maxGradientElements, int heldAfter) {
    }

    @ParameterizedTest(name = "stage {0} over {1} ranks, tied {2}")
    @CsvSource({"2, 2, false", "3, 2, false", "3, 3, true", "2, 4, true"})
    void eachShardHoldsItsReducedGradientsAndNoRankTheWholeModels(int stage, int world, boolean tied) {
        LlamaConfig config = model(tied);
        UnitLayout layout = UnitLayout.of(config, world);
        checkLayout(layout, config, world);
        List<RankResult> results = InProcessRanks.run(world, comm -> {
            Backend b = new CpuBackend(DType.F32);
            ParallelRank rank = ParallelRank.create(comm, ParallelConfig.resolve(ParallelMode.DATA_PARALLEL, world,
                    ParallelConfig.UNSET, ParallelConfig.UNSET, ParallelConfig.UNSET), T);
            SplittableRandom rng = new SplittableRandom(31 + comm.rank());
            int[] ids = rng.ints(T, 0, config.vocabSize()).toArray();
            int[] targets = rng.ints(T, 0, config.vocabSize()).toArray();
            int[] positions = rank.positionIds(1);
            long count = (long) T * world;
            LlamaModel.Options options = new LlamaModel.Options(true, 5, 7);

            LlamaWeights replicated = LlamaWeights.initialize(b, config, 3);
            double want = new LlamaModel(replicated, options).forwardBackward(b, ids, positions, targets, 1, count,
                    rank.attention());
            GradientSync.allReduce(comm, replicated.parameters());

            try (ShardedParameters sharded = ShardedParameters.create(b, comm, config, stage,
                    LlamaWeights.initializer(b, config, 3))) {
                Counting counting = new Counting(sharded);
                double got = new LlamaModel(config, counting, options).forwardBackward(b, ids, positions, targets, 1,
                        count, rank.attention());
                assertThat(got).isEqualTo(want);
                sharded.reduceGradients(); // every unit was reduced in the backward
                Map<String, double[]> wantShard = new LinkedHashMap<>();
                Map<String, double[]> gotShard = new LinkedHashMap<>();
                for (UnitLayout.Unit u : layout.units()) {
                    long start = u.layout().shardStart(comm.rank());
                    long end = start + u.shardSize();
                    Tensor shard = sharded.gradShard(u.index());
                    for (FlatLayout.Span s : u.layout().spans()) {
                        long from = Math.max(start, s.offset());
                        long to = Math.min(end, s.end());
                        if (from < to) {
                            int n = (int) (to - from);
                            wantShard.put(s.name(), b.download(b.view(replicated.get(s.name()).grad(),
                                    from - s.offset(), n)));
                            gotShard.put(s.name(), b.download(b.view(shard, from - start, n)));
                        }
                    }
                }
                return new RankResult(got, wantShard, gotShard, counting.maxGathered, counting.maxGradients,
                        counting.maxGradientElements, sharded.gatheredUnits() + sharded.gradientUnits());
            }
        });
        List<String> covered = new ArrayList<>();
        for (RankResult r : results) {
            assertThat(r.gotShard().keySet()).isEqualTo(r.wantShard().keySet());
            r.wantShard().forEach((name, values) -> assertThat(r.gotShard().get(name)).as(name)
                    .containsExactly(values));
            covered.addAll(r.gotShard().keySet());
            assertThat(r.heldAfter()).as("nothing held after the backward").isZero();
            // Around the loss the output projection's and the final norm's, then one layer's at a time; a tied
            // embedding's waits beside them from the loss to the end of the backward.
            assertThat(r.maxGradients()).as("whole-unit gradients at once").isEqualTo(2);
            assertThat(r.maxGradientElements()).as("whole-unit gradient elements at once").isEqualTo(
                    layout.largestLayer() + (tied ? layout.unit(layout.embedding()).size() : 0))
                    .isLessThan(layout.size() / 2);
            assertThat(r.maxGathered()).as("gathered units at once").isEqualTo(stage == 3 ? 3 : 0);
        }
        assertThat(covered).containsAll(LlamaWeights.layout(config).keySet());
    }

    private static void checkLayout(UnitLayout layout, LlamaConfig config, int world) {
        assertThat(layout.units()).hasSize(LAYERS + (config.tieWordEmbeddings() ? 2 : 3));
        assertThat(layout.spans()).extracting(FlatLayout.Span::name)
                .containsExactlyElementsOf(LlamaWeights.layout(config).keySet());
        long offset = 0;
        long shardOffset = 0;
        for (UnitLayout.Unit u : layout.units()) {
            assertThat(u.offset()).isEqualTo(offset);
            assertThat(u.shardOffset()).isEqualTo(shardOffset);
            assertThat(u.shardSize() % FlatLayout.ALIGNMENT).isZero();
            assertThat(u.size()).isEqualTo(world * u.shardSize());
            offset += u.size();
            shardOffset += u.shardSize();
        }
        assertThat(layout.size()).isEqualTo(offset);
        assertThat(layout.shardSize()).isEqualTo(shardOffset);
        assertThat(layout.lmHead()).isEqualTo(config.tieWordEmbeddings() ? layout.embedding() : LAYERS + 2);
        assertThat(layout.fingerprint()).isNotEqualTo(UnitLayout.of(config, world + 1).fingerprint());
    }
}
