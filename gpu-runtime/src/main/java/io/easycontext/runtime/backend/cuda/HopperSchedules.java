package io.easycontext.runtime.backend.cuda;

import java.util.Arrays;
import java.util.Locale;
import java.util.function.Function;

/** What the Hopper attention schedules share: a schedule is named by its flag or its constant's name, in any case. */
final class HopperSchedules {

    private HopperSchedules() {
    }

    /** The schedule {@code text} names; else an error saying which names there are ({@code what} must be …). */
    static <E extends Enum<E>> E parse(E[] values, Function<E, String> flag, String text, String what) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        for (E e : values) {
            if (t.equals(flag.apply(e)) || t.equals(e.name().toLowerCase(Locale.ROOT))) {
                return e;
            }
        }
        String[] flags = Arrays.stream(values).map(flag).toArray(String[]::new);
        String known = flags.length == 1 ? flags[0] : String.join(", ", Arrays.copyOf(flags, flags.length - 1))
                + " or " + flags[flags.length - 1];
        throw new IllegalArgumentException(what + " must be " + known + ", not '" + text + "'");
    }
}
