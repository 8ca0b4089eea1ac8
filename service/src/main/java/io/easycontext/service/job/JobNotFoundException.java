package io.easycontext.service.job;

import java.util.UUID;

import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.web.ErrorResponseException;

/** Rendered by Spring MVC as a 404 problem detail that names the id. */
public class JobNotFoundException extends ErrorResponseException {

    public JobNotFoundException(UUID id) {
        super(HttpStatus.NOT_FOUND, problem(id), null);
    }

    private static ProblemDetail problem(UUID id) {
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(HttpStatus.NOT_FOUND, "No job with id " + id);
        problem.setProperty("jobId", id);
        return problem;
    }
}
