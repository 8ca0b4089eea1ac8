package io.easycontext.service.job.spec;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.util.Arrays;

import jakarta.validation.ConstraintValidator;
import jakarta.validation.ConstraintValidatorContext;

public class RangeOrderValidator implements ConstraintValidator<RangeOrder, Record> {

    private String min;
    private String max;

    @Override
    public void initialize(RangeOrder annotation) {
        min = annotation.min();
        max = annotation.max();
    }

    @Override
    public boolean isValid(Record value, ConstraintValidatorContext context) {
        if (value == null) {
            return true;
        }
        Comparable<Object> lower = component(value, min);
        Comparable<Object> upper = component(value, max);
        // A missing bound is reported by its own @NotNull; comparing it here would only add noise.
        if (lower == null || upper == null || upper.compareTo(lower) >= 0) {
            return true;
        }
        context.disableDefaultConstraintViolation();
        context.buildConstraintViolationWithTemplate(context.getDefaultConstraintMessageTemplate())
                .addPropertyNode(max)
                .addConstraintViolation();
        return false;
    }

    @SuppressWarnings("unchecked")
    private static Comparable<Object> component(Record record, String name) {
        RecordComponent component = Arrays.stream(record.getClass().getRecordComponents())
                .filter(c -> c.getName().equals(name))
                .findFirst()
                .orElseThrow(() -> new IllegalStateException(
                        "@RangeOrder names " + name + ", which " + record.getClass().getSimpleName() + " lacks"));
        try {
            return (Comparable<Object>) component.getAccessor().invoke(record);
        } catch (IllegalAccessException | InvocationTargetException e) {
            throw new IllegalStateException("cannot read " + name + " of " + record.getClass().getSimpleName(), e);
        }
    }
}
