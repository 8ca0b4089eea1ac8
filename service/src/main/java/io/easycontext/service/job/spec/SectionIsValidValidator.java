package io.easycontext.service.job.spec;

import java.util.ArrayList;
import java.util.List;

import io.easycontext.runtime.spec.RunSpec;
import io.easycontext.runtime.spec.Violation;
import jakarta.validation.ConstraintValidator;
import jakarta.validation.ConstraintValidatorContext;

public class SectionIsValidValidator implements ConstraintValidator<SectionIsValid, JobSpec> {

    @Override
    public boolean isValid(JobSpec job, ConstraintValidatorContext context) {
        // Without a kind or its section there is nothing to check; @NotNull and @SpecMatchesKind report that.
        RunSpec section = job == null || job.kind() == null ? null : job.spec();
        if (section == null) {
            return true;
        }
        List<Violation> violations = new ArrayList<>(JobDevices.check(job));
        String sectionName = JobSpec.sectionName(job.kind());
        JobDevices.withoutGpus(section).validate().forEach(v -> violations.add(v.under(sectionName)));
        if (violations.isEmpty()) {
            return true;
        }
        context.disableDefaultConstraintViolation();
        for (Violation v : violations) {
            // The path is one node: Spring reports it as the field as it is, e.g. train.stages[1].seqLength.
            context.buildConstraintViolationWithTemplate(escape(v.message()))
                    .addPropertyNode(v.field())
                    .addConstraintViolation();
        }
        return false;
    }

    /** The runtime's messages are text, not templates: braces and dollars in them must not be interpolated. */
    private static String escape(String message) {
        return message.replace("\\", "\\\\").replace("{", "\\{").replace("}", "\\}").replace("$", "\\$");
    }
}
