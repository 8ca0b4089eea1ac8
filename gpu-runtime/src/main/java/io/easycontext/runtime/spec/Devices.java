package io.easycontext.runtime.spec;

import java.util.Locale;

/** A spec's {@code devices}: {@code cpu:N}, N simulated ranks of the CPU backend. */
public final class Devices {

    public static final String DEFAULT = "cpu:1";

    private Devices() {
    }

    /** The number of ranks; throws {@link IllegalArgumentException} with a message that reads after the field's name. */
    public static int cpuRanks(String value) {
        String v = value.toLowerCase(Locale.ROOT);
        if (!v.startsWith("cpu:")) {
            throw new IllegalArgumentException("must be cpu:N (N simulated ranks on the CPU backend), not '"
                    + value + "'");
        }
        try {
            int n = Integer.parseInt(v.substring(4));
            if (n >= 1) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below, with the value
        }
        throw new IllegalArgumentException("cpu:N needs a positive N, not '" + value + "'");
    }
}
