package io.easycontext.runtime.spec;

import java.util.List;
import java.util.stream.Collectors;

/** A spec that cannot run, with every reason; thrown only by code that needs a valid spec to go on. */
public final class InvalidSpecException extends IllegalArgumentException {

    private final transient List<Violation> violations;

    public InvalidSpecException(List<Violation> violations) {
        super(violations.stream().map(Violation::toString).collect(Collectors.joining("; ")));
        this.violations = List.copyOf(violations);
    }

    public List<Violation> violations() {
        return violations;
    }
}
