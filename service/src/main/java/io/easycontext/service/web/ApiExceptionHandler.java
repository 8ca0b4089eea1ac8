package io.easycontext.service.web;

import java.util.Arrays;
import java.util.List;

import io.easycontext.service.job.JobRejectedException;
import org.springframework.beans.TypeMismatchException;

import org.springframework.core.MethodParameter;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.validation.FieldError;
import org.springframework.validation.ObjectError;
import org.springframework.validation.method.ParameterErrors;
import org.springframework.web.bind.MethodArgumentNotValidException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.context.request.WebRequest;
import org.springframework.web.method.annotation.HandlerMethodValidationException;
import org.springframework.web.method.annotation.MethodArgumentTypeMismatchException;
import org.springframework.web.servlet.mvc.method.annotation.ResponseEntityExceptionHandler;
import tools.jackson.core.JacksonException;

/**
 * RFC 9457 problem details for every error Spring MVC raises, with the cases of bad input reworded so that the
 * client learns which field is wrong and why: Spring's own details for them are generic ("Invalid request content.",
 * "Failed to read request").
 */
@RestControllerAdvice
class ApiExceptionHandler extends ResponseEntityExceptionHandler {

    @Override
    protected ResponseEntity<Object> handleMethodArgumentNotValid(
            MethodArgumentNotValidException ex, HttpHeaders headers, HttpStatusCode status, WebRequest request) {
        List<InvalidField> errors = ex.getBindingResult().getAllErrors().stream()
                .map(ApiExceptionHandler::invalidField)
                .toList();
        return handleExceptionInternal(ex, InvalidField.problem(errors), headers, status, request);
    }

    /**
     * Method validation covers the body as well as parameters such as headers: the body's errors keep their field
     * paths, a parameter's are named as the client wrote it (a header by its header name).
     */
    @Override
    protected ResponseEntity<Object> handleHandlerMethodValidationException(
            HandlerMethodValidationException ex, HttpHeaders headers, HttpStatusCode status, WebRequest request) {
        List<InvalidField> errors = ex.getParameterValidationResults().stream()
                .flatMap(result -> result instanceof ParameterErrors bean
                        ? bean.getAllErrors().stream().map(ApiExceptionHandler::invalidField)
                        : result.getResolvableErrors().stream().map(error ->
                                new InvalidField(clientName(result.getMethodParameter()), error.getDefaultMessage())))
                .toList();
        return handleExceptionInternal(ex, InvalidField.problem(errors), headers, status, request);
    }

    private static InvalidField invalidField(ObjectError error) {
        return new InvalidField(error instanceof FieldError field ? field.getField() : error.getObjectName(),
                error.getDefaultMessage());
    }

    private static String clientName(MethodParameter parameter) {
        RequestHeader header = parameter.getParameterAnnotation(RequestHeader.class);
        return header != null && !header.name().isEmpty() ? header.name() : parameter.getParameterName();
    }

    @Override
    protected ResponseEntity<Object> handleTypeMismatch(
            TypeMismatchException ex, HttpHeaders headers, HttpStatusCode status, WebRequest request) {
        String name = ex instanceof MethodArgumentTypeMismatchException mismatch ? mismatch.getName() : ex.getPropertyName();
        Class<?> type = ex.getRequiredType();
        String message = type != null && type.isEnum()
                ? "must be one of " + Arrays.toString(type.getEnumConstants())
                : "is not a valid value";
        return handleExceptionInternal(ex, InvalidField.problem(List.of(new InvalidField(name, message))), headers,
                status, request);
    }

    /** A valid spec that this node cannot run: the same 400 as an invalid field, since it names one. */
    @ExceptionHandler
    ResponseEntity<Object> handleJobRejected(JobRejectedException ex, WebRequest request) {
        List<InvalidField> errors = ex.violations().stream()
                .map(v -> new InvalidField(v.field(), v.message()))
                .toList();
        return handleExceptionInternal(ex, InvalidField.problem(errors), new HttpHeaders(), HttpStatus.BAD_REQUEST,
                request);
    }

    @Override
    protected ResponseEntity<Object> handleHttpMessageNotReadable(
            HttpMessageNotReadableException ex, HttpHeaders headers, HttpStatusCode status, WebRequest request) {
        ProblemDetail problem = ex.getCause() instanceof JacksonException cause
                ? UnreadableJson.problem(cause)
                : ProblemDetail.forStatusAndDetail(HttpStatus.BAD_REQUEST, "Request body is missing or unreadable");
        return handleExceptionInternal(ex, problem, headers, status, request);
    }
}
