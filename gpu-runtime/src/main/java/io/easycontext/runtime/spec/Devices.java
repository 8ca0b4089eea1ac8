package io.easycontext.runtime.spec;

import io.easycontext.runtime.cuda.Cuda;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * A spec's {@code devices}: where the ranks of a run live, one rank per device.
 * <ul>
 *   <li>{@code cpu:N}: N simulated ranks of the CPU reference backend;</li>
 *   <li>{@code cuda:K}: GPU K; {@code cuda:0,1,2,3} or {@code cuda:0-3}: those GPUs, rank i on the i-th listed.</li>
 * </ul>
 *
 * @param ranks the world size
 * @param gpus  the GPU ordinals, rank by rank; empty for CPU ranks
 */
public record Devices(int ranks, List<Integer> gpus) {

    public static final String DEFAULT = "cpu:1";
    /** More ranks than any node has GPUs, and more than CPU ranks could usefully simulate. */
    private static final int MAX_RANKS = 1024;

    public Devices {
        gpus = List.copyOf(gpus);
        if (!gpus.isEmpty() && gpus.size() != ranks) {
            throw new IllegalArgumentException(ranks + " ranks on " + gpus.size() + " GPUs");
        }
    }

    public boolean cuda() {
        return !gpus.isEmpty();
    }

    /** Parses a spec's value; throws {@link IllegalArgumentException} with a message that reads after the field's name. */
    public static Devices parse(String value) {
        String v = value == null ? "" : value.trim().toLowerCase(Locale.ROOT);
        if (v.startsWith("cpu:")) {
            int n = number(v.substring(4), value);
            if (n < 1 || n > MAX_RANKS) {
                throw new IllegalArgumentException("cpu:N needs N from 1 to " + MAX_RANKS + ", not '" + value + "'");
            }
            return new Devices(n, List.of());
        }
        if (v.startsWith("cuda:")) {
            Set<Integer> gpus = new LinkedHashSet<>();
            for (String part : v.substring(5).split(",", -1)) {
                String[] range = part.split("-", -1);
                int from = number(range[0], value);
                int to = range.length == 2 ? number(range[1], value) : from;
                if (range.length > 2 || to < from || to - from >= MAX_RANKS) {
                    throw new IllegalArgumentException("cuda: takes GPU numbers and ranges like cuda:0,1 or cuda:0-3, not '"
                            + value + "'");
                }
                for (int g = from; g <= to; g++) {
                    if (!gpus.add(g)) {
                        throw new IllegalArgumentException("GPU " + g + " is listed twice in '" + value + "'");
                    }
                }
            }
            return new Devices(gpus.size(), new ArrayList<>(gpus));
        }
        throw new IllegalArgumentException("must be cpu:N (N simulated ranks on the CPU backend) or cuda:K, cuda:0,1, "
                + "cuda:0-3 (GPUs, one rank each), not '" + value + "'");
    }

    /**
     * Parses a spec's value and checks that this machine has every GPU it lists; throws
     * {@link IllegalArgumentException} with a message that reads after the field's name.
     */
    public static Devices parseAvailable(String value) {
        Devices d = parse(value);
        if (d.cuda()) {
            Cuda.Availability cuda = Cuda.availability();
            if (!cuda.available()) {
                throw new IllegalArgumentException("'" + value + "' needs GPUs, but this machine has none ("
                        + cuda.reason() + ")");
            }
            for (int g : d.gpus()) {
                if (g >= cuda.deviceCount()) {
                    throw new IllegalArgumentException("'" + value + "' lists GPU " + g + ", but this machine has "
                            + cuda.deviceCount() + " GPU(s), numbered from 0");
                }
            }
        }
        return d;
    }

    /** The world size of a spec's value. */
    public static int worldSize(String value) {
        return parse(value).ranks();
    }

    private static int number(String s, String value) {
        if (!s.matches("[0-9]{1,6}")) {
            throw new IllegalArgumentException("'" + s + "' in '" + value + "' is not a device number");
        }
        return Integer.parseInt(s);
    }

    /** The spec's spelling, for logs and command lines. */
    @Override
    public String toString() {
        if (!cuda()) {
            return "cpu:" + ranks;
        }
        StringBuilder b = new StringBuilder("cuda:");
        for (int i = 0; i < gpus.size(); i++) {
            b.append(i == 0 ? "" : ",").append(gpus.get(i));
        }
        return b.toString();
    }
}
