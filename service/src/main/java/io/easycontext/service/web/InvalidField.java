package io.easycontext.service.web;

import java.util.Comparator;
import java.util.List;
import java.util.stream.Collectors;

import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;

/**
 * One thing wrong with one field of a request.
 *
 * @param field the path of the field as the client wrote it, e.g. {@code train.seqLength}
 */
record InvalidField(String field, String message) {

    private static final Comparator<InvalidField> ORDER =
            Comparator.comparing(InvalidField::field).thenComparing(InvalidField::message);

    /** A 400 whose detail names every field, and whose {@code errors} list them for programs. */
    static ProblemDetail problem(List<InvalidField> errors) {
        List<InvalidField> sorted = errors.stream().sorted(ORDER).toList();
        String detail = sorted.stream().map(e -> e.field() + ": " + e.message()).collect(Collectors.joining("; "));
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(HttpStatus.BAD_REQUEST, detail);
        problem.setProperty("errors", sorted);
        return problem;
    }
}
