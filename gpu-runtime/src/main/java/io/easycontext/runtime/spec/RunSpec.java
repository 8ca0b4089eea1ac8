package io.easycontext.runtime.spec;

import java.util.List;

/**
 * What the runtime can be asked to run, defined once for the CLI and the service: each field is a CLI flag (its
 * name in kebab case) and a JSON property of a job. Records with every optional field defaulted in the
 * constructor, so that a stored spec shows what it ran with; {@link #validate()} says everything that is wrong.
 */
public sealed interface RunSpec permits TrainSpec, EvalSpec {

    /** Where the ranks run: {@code cpu:N} or GPUs such as {@code cuda:0,1} (see {@link Devices}). */
    String devices();

    /** Every violation, field by field; empty when the spec can run. */
    List<Violation> validate();

    /** The runtime CLI's arguments that run this spec, one list per run (a staged training has several). */
    List<List<String>> commandLines();

    default void requireValid() {
        List<Violation> violations = validate();
        if (!violations.isEmpty()) {
            throw new InvalidSpecException(violations);
        }
    }
}
