package io.easycontext.service.job;

import java.time.Instant;
import java.util.UUID;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.EnumType;
import jakarta.persistence.Enumerated;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import jakarta.persistence.Version;

/** A submitted job. Its kind-specific spec is kept as the JSON it was accepted as, defaults filled in. */
@Entity
@Table(name = "jobs")
public class Job {

    @Id
    private UUID id;

    @Enumerated(EnumType.STRING)
    private JobKind kind;

    @Enumerated(EnumType.STRING)
    private JobState state;

    /** A short machine-readable cause of the current state, e.g. why a job failed. */
    private String reason;

    /** A human-readable explanation to go with {@link #reason}. */
    private String message;

    private int priority;

    private int gpus;

    @Column(name = "spec")
    private String specJson;

    private Instant createdAt;

    private Instant updatedAt;

    /** Guards the state transitions that runners and cancel requests will race on. */
    @Version
    private Long version;

    protected Job() {
        // for JPA
    }

    private Job(UUID id, JobKind kind, int priority, int gpus, String specJson, Instant now) {
        this.id = id;
        this.kind = kind;
        this.state = JobState.QUEUED;
        this.priority = priority;
        this.gpus = gpus;
        this.specJson = specJson;
        this.createdAt = now;
        this.updatedAt = now;
    }

    static Job queued(UUID id, JobKind kind, int priority, int gpus, String specJson, Instant now) {
        return new Job(id, kind, priority, gpus, specJson, now);
    }

    public UUID getId() {
        return id;
    }

    public JobKind getKind() {
        return kind;
    }

    public JobState getState() {
        return state;
    }

    public String getReason() {
        return reason;
    }

    public String getMessage() {
        return message;
    }

    public int getPriority() {
        return priority;
    }

    public int getGpus() {
        return gpus;
    }

    public String getSpecJson() {
        return specJson;
    }

    public Instant getCreatedAt() {
        return createdAt;
    }

    public Instant getUpdatedAt() {
        return updatedAt;
    }

    public Long getVersion() {
        return version;
    }
}
