package io.easycontext.runtime.spec;

/**
 * One thing wrong with one field of a spec.
 *
 * @param field the field's path in camelCase, as JSON names it: {@code seqLength}, {@code stages[1].learningRate}
 * @param message what is wrong, worded to follow the field's name: {@code must be greater than or equal to 1}
 */
public record Violation(String field, String message) {

    /** The same violation inside an enclosing object, e.g. {@code train.seqLength}. */
    public Violation under(String parent) {
        return new Violation(parent + "." + field, message);
    }

    @Override
    public String toString() {
        return field + ": " + message;
    }
}
