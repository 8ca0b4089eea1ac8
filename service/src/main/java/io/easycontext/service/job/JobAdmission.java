package io.easycontext.service.job;

import java.util.List;

import io.easycontext.runtime.spec.Violation;
import io.easycontext.service.job.spec.JobSpec;

/**
 * Whether this node can ever run a valid spec: enough GPUs, a runner for the kind. A job that can never start is
 * refused at submission instead of waiting in the queue forever. Violations name request fields, e.g. {@code gpus}.
 */
public interface JobAdmission {

    List<Violation> check(JobSpec spec);
}
