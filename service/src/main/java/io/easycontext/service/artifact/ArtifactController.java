package io.easycontext.service.artifact;

import java.nio.file.Path;
import java.util.List;
import java.util.UUID;

import io.easycontext.service.job.JobService;
import io.swagger.v3.oas.annotations.Operation;
import org.springframework.core.io.FileSystemResource;
import org.springframework.core.io.Resource;
import org.springframework.http.ContentDisposition;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.web.ErrorResponseException;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

@RestController
@RequestMapping("/api/jobs/{id}/artifacts")
class ArtifactController {

    private final JobService jobs;
    private final ArtifactStore store;

    ArtifactController(JobService jobs, ArtifactStore store) {
        this.jobs = jobs;
        this.store = store;
    }

    @Operation(summary = "List a job's files", description = "A training's metrics per stage (metrics/stage-K.jsonl, "
            + "the lines the stage's command line prints), its checkpoints and each stage's final model "
            + "(checkpoints/stage-K/); an evaluation's results (eval-results/: JSON, CSV and PNG).")
    @GetMapping
    List<Artifact> list(@PathVariable UUID id) {
        jobs.get(id);
        return store.list(id);
    }

    @Operation(summary = "Download one of a job's files", description = "The name as the list gives it; names that "
            + "leave the job's directory are not found.")
    @GetMapping("/{*name}")
    ResponseEntity<Resource> download(@PathVariable UUID id, @PathVariable String name) {
        jobs.get(id);
        // {*name} captures the rest of the path with its leading slash.
        String relative = name.startsWith("/") ? name.substring(1) : name;
        Path file = store.find(id, relative).orElseThrow(() -> notFound(id, relative));
        return ResponseEntity.ok()
                .contentType(MediaType.APPLICATION_OCTET_STREAM)
                .header(HttpHeaders.CONTENT_DISPOSITION,
                        ContentDisposition.attachment().filename(file.getFileName().toString()).build().toString())
                .body(new FileSystemResource(file));
    }

    private static ErrorResponseException notFound(UUID id, String name) {
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(HttpStatus.NOT_FOUND,
                "Job " + id + " has no artifact named '" + name + "'");
        problem.setProperty("jobId", id);
        return new ErrorResponseException(HttpStatus.NOT_FOUND, problem, null);
    }
}
