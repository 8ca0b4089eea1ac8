package io.easycontext.runtime.profile;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * An {@link OpProfile}'s sums: per op its calls and time, the most time first, and the wall time they fell in.
 *
 * @param wallMillis from the profile's reset to the report, its queued work finished
 * @param ops        one entry per op name
 */
public record ProfileReport(double wallMillis, List<Op> ops) {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** One op's calls and their summed time. */
    public record Op(String name, int calls, double millis) {

        public double meanMillis() {
            return millis / calls;
        }
    }

    public ProfileReport {
        ops = List.copyOf(ops);
    }

    /** The time of all ops together. */
    public double opMillis() {
        return ops.stream().mapToDouble(Op::millis).sum();
    }

    /** The op of that name, if it was called. */
    public Optional<Op> op(String name) {
        return ops.stream().filter(o -> o.name().equals(name)).findFirst();
    }

    /**
     * {@code {"what":"op_profile", "rank":…, "step":…, "wall_ms":…, "op_ms":…, "ops":[{"op":…, "calls":…,
     * "ms":…}, …]}} on one line, times to the microsecond.
     */
    public String toJson(int rank, int step) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("what", "op_profile");
        m.put("rank", rank);
        m.put("step", step);
        m.put("wall_ms", micros(wallMillis));
        m.put("op_ms", micros(opMillis()));
        List<Map<String, Object>> list = new ArrayList<>();
        for (Op op : ops) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("op", op.name());
            o.put("calls", op.calls());
            o.put("ms", micros(op.millis()));
            list.add(o);
        }
        m.put("ops", list);
        try {
            return JSON.writeValueAsString(m);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A heading and one row per op with its share of the wall time, each line ending in a newline. */
    public String table(int rank, int step) {
        double opMillis = opMillis();
        StringBuilder s = new StringBuilder(String.format(Locale.ROOT,
                "op profile, rank %d step %d: wall %.3f ms, ops %.3f ms (%.1f%%), outside ops %.3f ms%n",
                rank, step, wallMillis, opMillis, share(opMillis), wallMillis - opMillis));
        int width = Math.max(2, ops.stream().mapToInt(o -> o.name().length()).max().orElse(0));
        String row = "  %-" + width + "s %7s %12s %10s %6s%n";
        s.append(String.format(Locale.ROOT, row, "op", "calls", "total ms", "mean ms", "share"));
        for (Op op : ops) {
            s.append(String.format(Locale.ROOT, row, op.name(), op.calls(), String.format(Locale.ROOT, "%.3f",
                    op.millis()), String.format(Locale.ROOT, "%.4f", op.meanMillis()),
                    String.format(Locale.ROOT, "%.1f%%", share(op.millis()))));
        }
        return s.toString();
    }

    private double share(double millis) {
        return wallMillis > 0 ? 100 * millis / wallMillis : 0;
    }

    private static double micros(double millis) {
        return Math.round(millis * 1000) / 1000.0;
    }
}
