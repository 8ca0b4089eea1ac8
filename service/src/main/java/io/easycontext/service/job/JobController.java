package io.easycontext.service.job;

import java.net.URI;
import java.util.UUID;

import io.easycontext.service.job.spec.JobSpec;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.Size;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

@RestController
@RequestMapping("/api/jobs")
class JobController {

    private final JobService jobs;

    JobController(JobService jobs) {
        this.jobs = jobs;
    }

    @Operation(summary = "Queue a job", description = "201 with the new job; 200 with the existing one when the "
            + "Idempotency-Key was seen before with the same request.")
    @PostMapping
    ResponseEntity<JobResponse> submit(@Valid @RequestBody JobSpec spec,
            @Parameter(description = "Makes retries safe: a repeated key returns the job it created")
            @RequestHeader(name = "Idempotency-Key", required = false) @Size(min = 1, max = 255) String idempotencyKey) {
        JobService.Submission submission = jobs.submit(spec, idempotencyKey);
        Job job = submission.job();
        // A relative reference (RFC 9110 allows it) stays right behind proxies that rewrite the host.
        return ResponseEntity.status(submission.created() ? HttpStatus.CREATED : HttpStatus.OK)
                .location(URI.create("/api/jobs/" + job.getId()))
                .body(JobResponse.of(job));
    }

    @GetMapping("/{id}")
    JobResponse get(@PathVariable UUID id) {
        return JobResponse.of(jobs.get(id));
    }

    @Operation(summary = "List jobs, newest first", description = "Keyset pagination: pass a page's `next` as "
            + "`cursor` for the following page.")
    @GetMapping
    JobPageResponse list(
            @RequestParam(required = false) JobState state,
            @RequestParam(required = false) JobKind kind,
            @RequestParam(required = false) JobCursorParameter cursor,
            @RequestParam(defaultValue = "100") @Min(1) @Max(500) int limit) {
        JobQuery query = new JobQuery(state, kind, cursor == null ? null : cursor.value());
        return JobPageResponse.of(jobs.list(query, limit));
    }

    @Operation(summary = "Cancel a job", description = "Idempotent. A queued job is CANCELLED at once; a started "
            + "one is CANCELLING until its work stops at the next step boundary. 409 for a finished job.")
    @PostMapping("/{id}/cancel")
    JobResponse cancel(@PathVariable UUID id) {
        return JobResponse.of(jobs.cancel(id));
    }
}
