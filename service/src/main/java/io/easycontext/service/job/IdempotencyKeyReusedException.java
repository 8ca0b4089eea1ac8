package io.easycontext.service.job;

import java.util.UUID;

import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.web.ErrorResponseException;

/** An Idempotency-Key already used for a different request: a 422, as the IETF idempotency-key draft says. */
public class IdempotencyKeyReusedException extends ErrorResponseException {

    public IdempotencyKeyReusedException(UUID existing) {
        super(HttpStatus.UNPROCESSABLE_CONTENT, problem(existing), null);
    }

    private static ProblemDetail problem(UUID existing) {
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(HttpStatus.UNPROCESSABLE_CONTENT,
                "This Idempotency-Key was used for a different request, which created job " + existing);
        problem.setProperty("jobId", existing);
        return problem;
    }
}
