package io.easycontext.service.job;

import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.stream.Collectors;

import jakarta.persistence.Column;
import jakarta.persistence.Embedded;
import jakarta.persistence.Entity;
import jakarta.persistence.EnumType;
import jakarta.persistence.Enumerated;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import jakarta.persistence.Version;

/**
 * A submitted job and its life. Every change of state goes through {@link #moveTo}, which enforces
 * {@link JobState}'s transition table and {@link JobReason}'s pairing with states; the version column makes
 * concurrent changes (the runner reporting progress while a client cancels) fail instead of overwriting each other.
 */
@Entity
@Table(name = "jobs")
public class Job {

    @Id
    private UUID id;

    @Enumerated(EnumType.STRING)
    private JobKind kind;

    @Enumerated(EnumType.STRING)
    private JobState state;

    @Enumerated(EnumType.STRING)
    private JobReason reason;

    /** A human-readable explanation to go with {@link #reason}. */
    private String message;

    private int priority;

    private int gpus;

    /** The kind's section of the request, as JSON with every default filled in. */
    @Column(name = "spec")
    private String specJson;

    /** The runtime CLI command lines that reproduce the job, one per line. */
    private String commandLines;

    /** A client's key for retrying a submission safely; unique where given. */
    private String idempotencyKey;

    /** How many times a runner has started the job. */
    private int attempt;

    /** How many times a node restart has put the job back in the queue; bounded by the retry limit. */
    private int recoveries;

    /** The GPUs of its latest start, e.g. {@code 0,1}; empty for the CPU backend. */
    private String gpuIds;

    @Embedded
    private JobProgress progress;

    private Instant createdAt;

    private Instant updatedAt;

    private Instant startedAt;

    private Instant finishedAt;

    @Version
    private Long version;

    protected Job() {
        // for JPA
    }

    private Job(UUID id, JobKind kind, int priority, int gpus, String specJson, String commandLines,
            String idempotencyKey, Instant now) {
        this.id = id;
        this.kind = kind;
        this.state = JobState.QUEUED;
        this.priority = priority;
        this.gpus = gpus;
        this.specJson = specJson;
        this.commandLines = commandLines;
        this.idempotencyKey = idempotencyKey;
        this.createdAt = now;
        this.updatedAt = now;
    }

    public static Job queued(UUID id, JobKind kind, int priority, int gpus, String specJson, Instant now) {
        return new Job(id, kind, priority, gpus, specJson, "", null, now);
    }

    public static Job queued(UUID id, JobKind kind, int priority, int gpus, String specJson,
            List<String> commandLines, String idempotencyKey, Instant now) {
        return new Job(id, kind, priority, gpus, specJson, String.join("\n", commandLines), idempotencyKey, now);
    }

    /** The scheduler gave it these GPUs (none for the CPU backend): a runner takes over. */
    public void start(List<Integer> gpuIds, Instant now) {
        moveTo(JobState.STARTING, null, null, now);
        this.attempt++;
        this.gpuIds = gpuIds.stream().map(String::valueOf).collect(Collectors.joining(","));
        this.startedAt = now;
        this.finishedAt = null;
    }

    public void run(Instant now) {
        moveTo(JobState.RUNNING, null, null, now);
    }

    /**
     * As it runs on the GPUs it was started on: its spec and command lines name them instead of the placeholders
     * it was queued with, so that both say where it ran.
     */
    public void placeOn(String placedSpecJson, List<String> placedCommandLines) {
        if (state != JobState.STARTING) {
            throw new IllegalJobTransitionException(id, state, JobState.RUNNING);
        }
        this.specJson = placedSpecJson;
        this.commandLines = String.join("\n", placedCommandLines);
    }

    /**
     * A client asked to stop it: a queued job is cancelled at once, a started one once its work has stopped. Asking
     * again changes nothing; a finished job cannot be cancelled.
     *
     * @return whether this call changed the job
     */
    public boolean requestCancel(Instant now) {
        return switch (state) {
            case CANCELLING, CANCELLED -> false;
            case QUEUED -> {
                finish(JobState.CANCELLED, JobReason.USER_CANCELLED, "cancelled before it started", now);
                yield true;
            }
            default -> {
                moveTo(JobState.CANCELLING, JobReason.USER_CANCELLED, "cancel requested", now);
                yield true;
            }
        };
    }

    /** Its runner is done: SUCCEEDED, FAILED or CANCELLED, always with a reason and a message. */
    public void finish(JobState terminal, JobReason reason, String message, Instant now) {
        if (!terminal.isTerminal() || reason == null || message == null || message.isBlank()) {
            throw new IllegalArgumentException("a job finishes in a terminal state with a reason and a message, not "
                    + terminal + " / " + reason + " / " + message);
        }
        moveTo(terminal, reason, message, now);
        this.finishedAt = now;
    }

    /** Back in the queue after the node restarted under it; its resources are gone with the old process. */
    public void requeueAfterRestart(String why, Instant now) {
        moveTo(JobState.QUEUED, JobReason.NODE_RESTART, why, now);
        this.recoveries++;
    }

    /** Back in the queue because the service is stopping; unlike a crash, this does not count toward the limit. */
    public void requeueForShutdown(String why, Instant now) {
        moveTo(JobState.QUEUED, JobReason.NODE_RESTART, why, now);
    }

    public void recordProgress(JobProgress latest, Instant now) {
        this.progress = latest;
        this.updatedAt = now;
    }

    private void moveTo(JobState target, JobReason newReason, String newMessage, Instant now) {
        if (!state.canMoveTo(target)) {
            throw new IllegalJobTransitionException(id, state, target);
        }
        if (newReason != null && !newReason.explains(target)) {
            throw new IllegalArgumentException(newReason + " does not explain " + target);
        }
        this.state = target;
        this.reason = newReason;
        this.message = newMessage == null ? null : abbreviate(newMessage);
        this.updatedAt = now;
    }

    /** The column holds 4096 characters; a stack of nested causes can say more. */
    private static String abbreviate(String text) {
        return text.length() <= 4096 ? text : text.substring(0, 4095) + "…";
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

    public JobReason getReason() {
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

    public List<String> getCommandLines() {
        return commandLines == null || commandLines.isEmpty() ? List.of() : List.of(commandLines.split("\n"));
    }

    public String getIdempotencyKey() {
        return idempotencyKey;
    }

    public int getAttempt() {
        return attempt;
    }

    public int getRecoveries() {
        return recoveries;
    }

    public List<Integer> getGpuIds() {
        return gpuIds == null || gpuIds.isEmpty()
                ? List.of()
                : Arrays.stream(gpuIds.split(",")).map(Integer::valueOf).toList();
    }

    public JobProgress getProgress() {
        return progress;
    }

    public Instant getCreatedAt() {
        return createdAt;
    }

    public Instant getUpdatedAt() {
        return updatedAt;
    }

    public Instant getStartedAt() {
        return startedAt;
    }

    public Instant getFinishedAt() {
        return finishedAt;
    }

    public Long getVersion() {
        return version;
    }
}
