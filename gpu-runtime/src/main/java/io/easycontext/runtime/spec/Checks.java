package io.easycontext.runtime.spec;

import java.util.ArrayList;
import java.util.List;

/**
 * Collects the violations of one spec, with the wording of Bean Validation's built-in constraints so that a
 * client sees the same phrases whichever layer rejected a field. A null value passes every check but
 * {@link #notBlank}: optional fields are null when left out.
 */
final class Checks {

    private final List<Violation> violations;
    private final String prefix;

    Checks() {
        this(new ArrayList<>(), "");
    }

    private Checks(List<Violation> violations, String prefix) {
        this.violations = violations;
        this.prefix = prefix;
    }

    /** Checks of a nested object, whose violations land in the same list under {@code path.}. */
    Checks at(String path) {
        return new Checks(violations, prefix + path + ".");
    }

    void reject(String field, String message) {
        violations.add(new Violation(prefix + field, message));
    }

    void notBlank(String field, String value) {
        if (value == null || value.isBlank()) {
            reject(field, "must not be blank");
        }
    }

    void maxLength(String field, String value, int max) {
        if (value != null && value.length() > max) {
            reject(field, "must be at most " + max + " characters long");
        }
    }

    void atLeast(String field, Number value, long min) {
        if (value != null && value.doubleValue() < min) {
            reject(field, "must be greater than or equal to " + min);
        }
    }

    void atMost(String field, Number value, long max) {
        if (value != null && value.doubleValue() > max) {
            reject(field, "must be less than or equal to " + max);
        }
    }

    /** Greater than {@code bound}; NaN fails too, which a {@code <=} test would let through. */
    void greaterThan(String field, Double value, double bound) {
        if (value != null && !(value > bound)) {
            reject(field, "must be greater than " + format(bound));
        }
    }

    void notNegative(String field, Double value) {
        if (value != null && !(value >= 0)) {
            reject(field, "must be greater than or equal to 0");
        }
    }

    /** Reported on {@code max}, where the client has to look: the upper bound is below the lower one. */
    void ordered(String minField, Integer min, String maxField, Integer max) {
        if (min != null && max != null && max < min) {
            reject(maxField, "must be greater than or equal to " + minField);
        }
    }

    /** Whether any check of this spec, or of a nested one, failed so far. */
    boolean failed() {
        return violations.stream().anyMatch(v -> v.field().startsWith(prefix));
    }

    List<Violation> violations() {
        return List.copyOf(violations);
    }

    private static String format(double bound) {
        return bound == Math.rint(bound) ? Long.toString((long) bound) : Double.toString(bound);
    }
}
