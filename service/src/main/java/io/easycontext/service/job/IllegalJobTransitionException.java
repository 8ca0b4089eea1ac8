package io.easycontext.service.job;

import java.util.UUID;

import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.web.ErrorResponseException;

/** A move the state machine forbids, e.g. cancelling a job that already succeeded: a 409 when it reaches a client. */
public class IllegalJobTransitionException extends ErrorResponseException {

    public IllegalJobTransitionException(UUID id, JobState from, JobState to) {
        super(HttpStatus.CONFLICT, problem(id, from, to), null);
    }

    private static ProblemDetail problem(UUID id, JobState from, JobState to) {
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(HttpStatus.CONFLICT,
                "Job " + id + " is " + from + " and cannot become " + to);
        problem.setProperty("jobId", id);
        problem.setProperty("state", from);
        return problem;
    }
}
