package io.easycontext.service.job.spec;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import jakarta.validation.Constraint;
import jakarta.validation.Payload;

/**
 * On {@link JobSpec}: the section of its kind passes the runtime's own validation, the same the CLI runs, which
 * includes the parallel layout's constraints, and its devices go with {@code gpus} ({@link JobDevices}). Each
 * violation is reported on its field inside the section, e.g. {@code train.stages[1].seqLength}, or on {@code gpus}.
 * GPUs are checked for their number only: which GPUs, and whether the node has them, is the scheduler's business.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Constraint(validatedBy = SectionIsValidValidator.class)
public @interface SectionIsValid {

    /** Unused: each violation carries the runtime's message. */
    String message() default "";

    Class<?>[] groups() default {};

    Class<? extends Payload>[] payload() default {};
}
