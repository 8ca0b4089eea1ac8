package io.easycontext.service.job;

import java.net.URI;
import java.util.List;
import java.util.UUID;

import io.easycontext.service.job.spec.JobSpec;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
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

    @PostMapping
    ResponseEntity<JobResponse> submit(@Valid @RequestBody JobSpec spec) {
        Job job = jobs.submit(spec);
        // A relative reference (RFC 9110 allows it) stays right behind proxies that rewrite the host.
        return ResponseEntity.created(URI.create("/api/jobs/" + job.getId())).body(JobResponse.of(job));
    }

    @GetMapping("/{id}")
    JobResponse get(@PathVariable UUID id) {
        return JobResponse.of(jobs.get(id));
    }

    /** Newest first. */
    @GetMapping
    List<JobResponse> list(@RequestParam(defaultValue = "100") @Min(1) @Max(500) int limit) {
        return jobs.newest(limit).stream().map(JobResponse::of).toList();
    }
}
