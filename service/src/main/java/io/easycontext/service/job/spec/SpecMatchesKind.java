package io.easycontext.service.job.spec;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import jakarta.validation.Constraint;
import jakarta.validation.Payload;

/**
 * On {@link JobSpec}: the section its kind reads is given, and no other section is. Each violation is reported on
 * the section, e.g. {@code train: must be given for kind TRAIN}.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Constraint(validatedBy = SpecMatchesKindValidator.class)
public @interface SpecMatchesKind {

    /** Unused: each violation carries its own message. */
    String message() default "";

    Class<?>[] groups() default {};

    Class<? extends Payload>[] payload() default {};
}
