package io.easycontext.runtime.spec;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The runtime CLI's arguments for a spec: {@code train --model tiny --seq-length 64 ...}. Flags are the spec's field
 * names in kebab case, so that a field named in an error is the flag to fix, and fields left null are left out.
 */
public final class CommandLine {

    private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9_./:=@%+,-]+");

    private final List<String> args = new ArrayList<>();

    private CommandLine(String command) {
        args.add(command);
    }

    static CommandLine of(String command) {
        return new CommandLine(command);
    }

    CommandLine flag(String field, Object value) {
        if (value != null) {
            args.add("--" + flagName(field));
            args.add(String.valueOf(value));
        }
        return this;
    }

    List<String> args() {
        return List.copyOf(args);
    }

    /** {@code seqLength} → {@code seq-length}. */
    public static String flagName(String field) {
        return field.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(java.util.Locale.ROOT);
    }

    /** The arguments as one line for a POSIX shell, each quoted only where it needs to be. */
    public static String render(List<String> args) {
        List<String> quoted = new ArrayList<>(args.size());
        for (String a : args) {
            quoted.add(SAFE.matcher(a).matches() ? a : "'" + a.replace("'", "'\\''") + "'");
        }
        return String.join(" ", quoted);
    }
}
