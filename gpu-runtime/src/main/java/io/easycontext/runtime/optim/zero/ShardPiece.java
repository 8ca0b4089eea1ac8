package io.easycontext.runtime.optim.zero;

import io.easycontext.runtime.model.FlatLayout;
import io.easycontext.runtime.model.Parameter;
import io.easycontext.runtime.optim.AdamW;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * The elements {@code [offset, offset + length)} of a rank's shard that belong to one parameter. A shard boundary
 * may cut a parameter, so a parameter can have pieces on two or more ranks; AdamW is elementwise, so updating each
 * piece with its parameter's weight decay is the same as updating the whole parameter.
 *
 * @param offset from the shard's first element
 */
record ShardPiece(String name, long offset, int length, boolean decays) {

    long end() {
        return offset + length;
    }

    /** The parameter's decay: norm gains have none ({@link Parameter#decays()}). */
    double weightDecay(AdamW.Hyper hyper) {
        return decays ? hyper.weightDecay() : 0;
    }

    /** The pieces of shard {@code rank}, in buffer order; gaps and padding belong to none. */
    static List<ShardPiece> of(FlatLayout layout, int rank, List<Parameter> parameters) {
        Map<String, Parameter> byName = new HashMap<>();
        parameters.forEach(p -> byName.put(p.name(), p));
        return cut(layout, rank, 0, s -> {
            Parameter p = byName.get(s.name());
            if (p == null) {
                throw new IllegalArgumentException("the flat layout's '" + s.name() + "' is not among the parameters");
            }
            return p.decays();
        });
    }

    /**
     * The pieces of shard {@code rank} of {@code layout}, in buffer order, their offsets moved by {@code shift} (where
     * the shard sits in a larger one: a unit's shard within a rank's shard of every unit). A parameter decays where
     * it is a matrix ({@link Parameter#decays()}).
     */
    static List<ShardPiece> of(FlatLayout layout, int rank, long shift) {
        return cut(layout, rank, shift, s -> s.shape().length >= 2);
    }

    /** The spans' parts within shard {@code rank}, shifted by {@code shift}; {@code decays} asked of those only. */
    private static List<ShardPiece> cut(FlatLayout layout, int rank, long shift, Predicate<FlatLayout.Span> decays) {
        long start = layout.shardStart(rank);
        long end = start + layout.shardSize();
        List<ShardPiece> pieces = new ArrayList<>();
        for (FlatLayout.Span s : layout.spans()) {
            long from = Math.max(start, s.offset());
            long to = Math.min(end, s.end());
            if (from < to) {
                pieces.add(new ShardPiece(s.name(), shift + from - start, Math.toIntExact(to - from), decays.test(s)));
            }
        }
        return pieces;
    }

    /** The parts of {@code pieces} within {@code [from, from + length)} of the shard, as pieces themselves. */
    static List<ShardPiece> within(List<ShardPiece> pieces, long from, long length) {
        List<ShardPiece> parts = new ArrayList<>();
        for (ShardPiece p : pieces) {
            long a = Math.max(from, p.offset);
            long b = Math.min(from + length, p.end());
            if (a < b) {
                parts.add(new ShardPiece(p.name, a, (int) (b - a), p.decays));
            }
        }
        return parts;
    }
}
