package io.easycontext.runtime.cli;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * {@code --name value} and {@code --name=value} flags, and bare {@code --switch}es. Every flag a command reads
 * is declared by reading it; {@link #finish()} then rejects any flag that nobody read, so a typo is an error
 * rather than a silently ignored option.
 */
public final class Flags {

    /** Bad command-line input: the message names the flag and what was wrong. */
    public static final class UsageException extends RuntimeException {
        public UsageException(String message) {
            super(message);
        }
    }

    private final Map<String, String> values = new LinkedHashMap<>();
    private final Set<String> read = new HashSet<>();

    public Flags(List<String> args) {
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (!a.startsWith("--") || a.length() == 2) {
                throw new UsageException("unexpected argument '" + a + "'");
            }
            String name;
            String value;
            int eq = a.indexOf('=');
            if (eq > 0) {
                name = a.substring(2, eq);
                value = a.substring(eq + 1);
            } else {
                name = a.substring(2);
                boolean hasValue = i + 1 < args.size() && !args.get(i + 1).startsWith("--");
                value = hasValue ? args.get(++i) : null;
            }
            if (values.containsKey(name)) {
                throw new UsageException("--" + name + " given twice");
            }
            values.put(name, value);
        }
    }

    public boolean has(String name) {
        read.add(name);
        return values.containsKey(name);
    }

    public String string(String name, String def) {
        read.add(name);
        if (!values.containsKey(name)) {
            return def;
        }
        String v = values.get(name);
        if (v == null) {
            throw new UsageException("--" + name + " needs a value");
        }
        return v;
    }

    public String required(String name) {
        String v = string(name, null);
        if (v == null) {
            throw new UsageException("--" + name + " is required");
        }
        return v;
    }

    public boolean bool(String name, boolean def) {
        read.add(name);
        if (!values.containsKey(name)) {
            return def;
        }
        String v = values.get(name);
        if (v == null || v.equals("true")) {
            return true;
        }
        if (v.equals("false")) {
            return false;
        }
        throw new UsageException("--" + name + " must be true or false, not '" + v + "'");
    }

    public int integer(String name, int def) {
        String v = string(name, null);
        if (v == null) {
            return def;
        }
        try {
            return Integer.parseInt(v.replace("_", ""));
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be an integer, not '" + v + "'");
        }
    }

    public long longValue(String name, long def) {
        String v = string(name, null);
        if (v == null) {
            return def;
        }
        try {
            return Long.parseLong(v.replace("_", ""));
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be an integer, not '" + v + "'");
        }
    }

    public double number(String name, double def) {
        String v = string(name, null);
        if (v == null) {
            return def;
        }
        try {
            return Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be a number, not '" + v + "'");
        }
    }

    /** Runs {@code build}, turning a value that cannot work into a usage error (exit 2) that keeps the message. */
    public static <T> T usage(Supplier<T> build) {
        try {
            return build.get();
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    /** Rejects flags that no read asked for. */
    public void finish() {
        for (String name : values.keySet()) {
            if (!read.contains(name)) {
                throw new UsageException("unknown flag --" + name);
            }
        }
    }
}
