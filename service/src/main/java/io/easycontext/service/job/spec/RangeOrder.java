package io.easycontext.service.job.spec;

import java.lang.annotation.ElementType;
import java.lang.annotation.Repeatable;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import jakarta.validation.Constraint;
import jakarta.validation.Payload;

/**
 * On a record: its component {@link #max} must not be less than its component {@link #min}. The violation is
 * reported on {@code max}, so that the client sees the field path, not just the record's.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Constraint(validatedBy = RangeOrderValidator.class)
@Repeatable(RangeOrder.List.class)
public @interface RangeOrder {

    /** Name of the lower bound's record component. */
    String min();

    /** Name of the upper bound's record component. */
    String max();

    String message() default "must be greater than or equal to {min}";

    Class<?>[] groups() default {};

    Class<? extends Payload>[] payload() default {};

    @Target(ElementType.TYPE)
    @Retention(RetentionPolicy.RUNTIME)
    @interface List {
        RangeOrder[] value();
    }
}
