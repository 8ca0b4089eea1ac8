package io.easycontext.service.web;

import java.math.BigInteger;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import tools.jackson.core.JacksonException;
import tools.jackson.core.TokenStreamLocation;
import tools.jackson.core.exc.InputCoercionException;
import tools.jackson.core.exc.StreamReadException;
import tools.jackson.databind.exc.MismatchedInputException;
import tools.jackson.databind.exc.UnrecognizedPropertyException;

/**
 * Words Jackson's complaints about a request body for the client: field paths and JSON types rather than the Java
 * class names that Jackson's own messages are full of.
 */
final class UnreadableJson {

    private static final List<Class<?>> INTEGERS =
            List.of(Integer.class, int.class, Long.class, long.class, Short.class, short.class, BigInteger.class);

    private UnreadableJson() {
    }

    static ProblemDetail problem(JacksonException e) {
        if (e instanceof StreamReadException && !(e instanceof InputCoercionException)) {
            return ProblemDetail.forStatusAndDetail(HttpStatus.BAD_REQUEST,
                    "Malformed JSON" + at(e.getLocation()) + ": " + e.getOriginalMessage());
        }
        String field = fieldPath(e);
        String complaint = complaint(e);
        return field.isEmpty()
                ? ProblemDetail.forStatusAndDetail(HttpStatus.BAD_REQUEST, "Request body " + complaint)
                : InvalidField.problem(List.of(new InvalidField(field, complaint)));
    }

    private static String complaint(JacksonException e) {
        if (e instanceof UnrecognizedPropertyException unknown) {
            return "unknown property; known properties are " + sorted(unknown.getKnownPropertyIds());
        }
        if (e instanceof InputCoercionException outOfRange) {
            return "is out of range for " + jsonType(outOfRange.getTargetType());
        }
        if (e instanceof MismatchedInputException mismatch) {
            return "must be " + jsonType(mismatch.getTargetType());
        }
        return "is invalid";
    }

    /** E.g. {@code train.seqLength} or {@code items[2].name}; empty for the body itself. */
    private static String fieldPath(JacksonException e) {
        StringBuilder path = new StringBuilder();
        for (JacksonException.Reference step : e.getPath()) {
            if (step.getPropertyName() != null) {
                if (!path.isEmpty()) {
                    path.append('.');
                }
                path.append(step.getPropertyName());
            } else if (step.getIndex() >= 0) {
                path.append('[').append(step.getIndex()).append(']');
            }
        }
        return path.toString();
    }

    private static String jsonType(Class<?> type) {
        if (type == null) {
            return "of another type";
        }
        if (type.isEnum()) {
            // Jackson 3 reads enums by toString(), so that is also how to list the names it accepts.
            return "one of " + Arrays.toString(type.getEnumConstants());
        }
        if (INTEGERS.contains(type)) {
            return "an integer";
        }
        if (Number.class.isAssignableFrom(type) || type == double.class || type == float.class) {
            return "a number";
        }
        if (type == Boolean.class || type == boolean.class) {
            return "true or false";
        }
        if (CharSequence.class.isAssignableFrom(type)) {
            return "a string";
        }
        if (type.isArray() || Collection.class.isAssignableFrom(type)) {
            return "an array";
        }
        return type.isPrimitive() ? "of another type" : "an object";
    }

    private static String sorted(Collection<Object> names) {
        return names.stream().map(Objects::toString).sorted().collect(Collectors.joining(", ", "[", "]"));
    }

    private static String at(TokenStreamLocation location) {
        return location == null || location.getLineNr() < 0
                ? ""
                : " at line " + location.getLineNr() + ", column " + location.getColumnNr();
    }
}
