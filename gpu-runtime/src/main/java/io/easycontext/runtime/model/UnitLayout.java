package io.easycontext.runtime.model;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The layout of ZeRO stages 2 and 3: the parameters grouped into units that a training step uses one after another
 * (the embedding, each decoder layer, the final norm, and {@code lm_head} where it is not tied to the embedding), and
 * each unit laid out as a {@link FlatLayout} of its own, cut into {@code shards} equal shards. One collective then
 * moves a whole unit: a {@code reduceScatter} of the unit's gradients as soon as its backward is done, an
 * {@code allGather} of its values before it is used.
 *
 * <p>Two buffers follow from it. The <em>whole</em> buffer holds every unit's buffer one after another (unit
 * {@code u} at {@link Unit#offset()}): the values of ZeRO-2, where every rank keeps all parameters. A rank's
 * <em>shard</em> holds its shard of every unit one after another (unit {@code u}'s at {@link Unit#shardOffset()}):
 * its gradients, its values under ZeRO-3 and what its optimizer updates. Unit buffers are multiples of
 * {@code shards × }{@link FlatLayout#ALIGNMENT} elements, so every unit and every shard of one starts aligned.
 *
 * @param units  in the order a forward uses them
 * @param shards the number of ranks the units are cut over
 */
public record UnitLayout(List<Unit> units, int shards, boolean tied, int layers) {

    /**
     * One unit: its parameters' layout within the unit's own buffer, where that buffer starts in the whole buffer,
     * and where the unit's shard starts in a rank's shard.
     */
    public record Unit(int index, String name, FlatLayout layout, long offset, long shardOffset) {

        /** Elements of the unit's buffer, padding included: {@code shards × shardSize()}. */
        public long size() {
            return layout.size();
        }

        /** Elements of each rank's shard of the unit. */
        public long shardSize() {
            return layout.shardSize();
        }
    }

    public UnitLayout {
        units = List.copyOf(units);
    }

    /** The units of {@code config}'s parameters ({@link LlamaWeights#layout}), each cut into {@code shards}. */
    public static UnitLayout of(LlamaConfig config, int shards) {
        if (shards < 1) {
            throw new IllegalArgumentException("a unit layout needs at least one shard, not " + shards);
        }
        Map<String, int[]> all = LlamaWeights.layout(config);
        List<Map<String, int[]>> groups = new ArrayList<>();
        List<String> names = new ArrayList<>();
        groups.add(pick(all, "model.embed_tokens."));
        names.add("embedding");
        for (int l = 0; l < config.numHiddenLayers(); l++) {
            groups.add(pick(all, "model.layers." + l + "."));
            names.add("layer " + l);
        }
        groups.add(pick(all, "model.norm."));
        names.add("norm");
        if (!config.tieWordEmbeddings()) {
            groups.add(pick(all, "lm_head."));
            names.add("lm_head");
        }
        List<Unit> units = new ArrayList<>();
        long offset = 0;
        long shardOffset = 0;
        for (int u = 0; u < groups.size(); u++) {
            FlatLayout layout = FlatLayout.of(groups.get(u), shards);
            units.add(new Unit(u, names.get(u), layout, offset, shardOffset));
            offset += layout.size();
            shardOffset += layout.shardSize();
        }
        return new UnitLayout(units, shards, config.tieWordEmbeddings(), config.numHiddenLayers());
    }

    private static Map<String, int[]> pick(Map<String, int[]> all, String prefix) {
        Map<String, int[]> m = new LinkedHashMap<>();
        all.forEach((name, shape) -> {
            if (name.startsWith(prefix)) {
                m.put(name, shape);
            }
        });
        return m;
    }

    public int embedding() {
        return 0;
    }

    public int layer(int l) {
        if (l < 0 || l >= layers) {
            throw new IllegalArgumentException("layer " + l + " of " + layers);
        }
        return 1 + l;
    }

    public int norm() {
        return 1 + layers;
    }

    /** The output projection's unit: the embedding's where the two are tied. */
    public int lmHead() {
        return tied ? 0 : 2 + layers;
    }

    public Unit unit(int index) {
        return units.get(index);
    }

    /** Elements of the whole buffer: every unit's, padding included. */
    public long size() {
        Unit last = units.get(units.size() - 1);
        return last.offset() + last.size();
    }

    /** Elements of one rank's shard: its shard of every unit. */
    public long shardSize() {
        Unit last = units.get(units.size() - 1);
        return last.shardOffset() + last.shardSize();
    }

    /** The largest unit's buffer: the most one gathered unit holds. */
    public long largestUnit() {
        return units.stream().mapToLong(Unit::size).max().orElse(0);
    }

    /** The largest decoder layer's buffer (0 without layers). */
    public long largestLayer() {
        long max = 0;
        for (int l = 0; l < layers; l++) {
            max = Math.max(max, units.get(layer(l)).size());
        }
        return max;
    }

    /** Every parameter's span in the whole buffer, in buffer order. */
    public List<FlatLayout.Span> spans() {
        List<FlatLayout.Span> spans = new ArrayList<>();
        for (Unit u : units) {
            for (FlatLayout.Span s : u.layout().spans()) {
                spans.add(new FlatLayout.Span(s.name(), s.shape(), u.offset() + s.offset()));
            }
        }
        return Collections.unmodifiableList(spans);
    }

    /** The unit that holds parameter {@code name}. */
    public Unit unitOf(String name) {
        for (Unit u : units) {
            for (FlatLayout.Span s : u.layout().spans()) {
                if (s.name().equals(name)) {
                    return u;
                }
            }
        }
        throw new IllegalArgumentException("no parameter named '" + name + "' in the unit layout");
    }

    /**
     * A short text that differs between layouts that place any element differently (and from every
     * {@link FlatLayout#fingerprint()}), so that a shard saved under one layout is never read into another.
     */
    public String fingerprint() {
        long params = units.stream().mapToLong(u -> u.layout().spans().size()).sum();
        return units.size() + " units, " + params + " parameters, " + shards + "×" + shardSize() + ", "
                + Integer.toHexString(spans().hashCode());
    }
}
