package io.easycontext.service.job;

import java.util.List;

import io.easycontext.runtime.spec.Violation;

/** A valid spec this node cannot run; rendered as the same 400 as any invalid field. */
public class JobRejectedException extends RuntimeException {

    private final transient List<Violation> violations;

    public JobRejectedException(List<Violation> violations) {
        super(violations.toString());
        this.violations = List.copyOf(violations);
    }

    public List<Violation> violations() {
        return violations;
    }
}
