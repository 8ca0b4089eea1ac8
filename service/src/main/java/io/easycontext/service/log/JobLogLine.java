package io.easycontext.service.log;

import java.time.Instant;
import java.util.UUID;

import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

/** One line of a job's log. */
@Entity
@Table(name = "job_logs")
public class JobLogLine {

    /** Increases with every line written, so it orders a job's lines and lets a reader resume after one. */
    @Id
    @GeneratedValue(strategy = GenerationType.IDENTITY)
    private Long id;

    private UUID jobId;

    private Instant loggedAt;

    private String line;

    protected JobLogLine() {
        // for JPA
    }

    JobLogLine(UUID jobId, Instant loggedAt, String line) {
        this.jobId = jobId;
        this.loggedAt = loggedAt;
        this.line = line;
    }

    public Long getId() {
        return id;
    }

    public UUID getJobId() {
        return jobId;
    }

    public Instant getLoggedAt() {
        return loggedAt;
    }

    public String getLine() {
        return line;
    }
}
