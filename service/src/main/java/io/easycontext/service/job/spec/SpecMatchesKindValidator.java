package io.easycontext.service.job.spec;

import io.easycontext.service.job.JobKind;
import jakarta.validation.ConstraintValidator;
import jakarta.validation.ConstraintValidatorContext;

public class SpecMatchesKindValidator implements ConstraintValidator<SpecMatchesKind, JobSpec> {

    @Override
    public boolean isValid(JobSpec job, ConstraintValidatorContext context) {
        // Without a kind there is nothing to match; @NotNull on kind reports that.
        if (job == null || job.kind() == null) {
            return true;
        }
        context.disableDefaultConstraintViolation();
        boolean valid = true;
        for (JobKind sectionKind : JobKind.values()) {
            boolean given = job.section(sectionKind) != null;
            if (sectionKind == job.kind() && !given) {
                reject(context, sectionKind, "must be given for kind " + job.kind());
                valid = false;
            } else if (sectionKind != job.kind() && given) {
                reject(context, sectionKind, "must be left out for kind " + job.kind());
                valid = false;
            }
        }
        return valid;
    }

    private static void reject(ConstraintValidatorContext context, JobKind sectionKind, String message) {
        context.buildConstraintViolationWithTemplate(message)
                .addPropertyNode(JobSpec.sectionName(sectionKind))
                .addConstraintViolation();
    }
}
