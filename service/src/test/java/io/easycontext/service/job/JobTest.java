package io.easycontext.service.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

import org.junit.jupiter.api.Test;
import org.springframework.http.HttpStatus;

/** The entity's moves: what each sets, and what the state machine refuses. */
class JobTest {

    private static final Instant T0 = Instant.parse("2026-01-02T03:04:05Z");

    private final Job job = Job.queued(UUID.randomUUID(), JobKind.TRAIN, 0, 2, "{}", List.of("train"), null, T0);

    @Test
    void aRunThroughTheHappyPathRecordsAttemptsGpusAndTimes() {
        job.start(List.of(0, 1), T0.plusSeconds(1));
        job.run(T0.plusSeconds(2));
        job.finish(JobState.SUCCEEDED, JobReason.COMPLETED, "10 steps", T0.plusSeconds(3));

        assertThat(job.getState()).isEqualTo(JobState.SUCCEEDED);
        assertThat(job.getAttempt()).isEqualTo(1);
        assertThat(job.getGpuIds()).containsExactly(0, 1);
        assertThat(job.getStartedAt()).isEqualTo(T0.plusSeconds(1));
        assertThat(job.getFinishedAt()).isEqualTo(T0.plusSeconds(3));
        assertThat(job.getReason()).isEqualTo(JobReason.COMPLETED);
    }

    @Test
    void cancellingAQueuedJobEndsItAtOnceAndAgainChangesNothing() {
        assertThat(job.requestCancel(T0)).isTrue();
        assertThat(job.getState()).isEqualTo(JobState.CANCELLED);
        assertThat(job.getReason()).isEqualTo(JobReason.USER_CANCELLED);
        assertThat(job.getMessage()).isNotBlank();

        assertThat(job.requestCancel(T0.plusSeconds(1))).isFalse();
        assertThat(job.getUpdatedAt()).isEqualTo(T0);
    }

    @Test
    void cancellingAStartedJobWaitsForItsWorkToStop() {
        job.start(List.of(), T0);
        job.run(T0);

        assertThat(job.requestCancel(T0)).isTrue();
        assertThat(job.getState()).isEqualTo(JobState.CANCELLING);
        assertThat(job.requestCancel(T0)).isFalse();
        job.finish(JobState.CANCELLED, JobReason.USER_CANCELLED, "stopped after 3 steps", T0);
        assertThat(job.getState()).isEqualTo(JobState.CANCELLED);
    }

    @Test
    void aFinishedJobCannotBeCancelledAndSaysWhyInA409() {
        job.start(List.of(), T0);
        job.run(T0);
        job.finish(JobState.FAILED, JobReason.NAN_LOSS, "the loss is NaN", T0);

        assertThatThrownBy(() -> job.requestCancel(T0))
                .isInstanceOfSatisfying(IllegalJobTransitionException.class, e -> {
                    assertThat(e.getStatusCode()).isEqualTo(HttpStatus.CONFLICT);
                    assertThat(e.getBody().getDetail()).endsWith("is FAILED and cannot become CANCELLING");
                });
    }

    @Test
    void aTerminalStateNeedsAReasonThatExplainsItAndAMessage() {
        job.start(List.of(), T0);
        job.run(T0);

        assertThatThrownBy(() -> job.finish(JobState.FAILED, null, "x", T0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> job.finish(JobState.FAILED, JobReason.OUT_OF_MEMORY, " ", T0))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> job.finish(JobState.SUCCEEDED, JobReason.NAN_LOSS, "x", T0))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> job.finish(JobState.RUNNING, JobReason.COMPLETED, "x", T0))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(job.getState()).isEqualTo(JobState.RUNNING);
    }

    @Test
    void aRestartRequeuesAStartedJobCountingItAndTheNextStartClearsTheReason() {
        job.start(List.of(1), T0);
        job.requeueAfterRestart("requeued after a node restart", T0);

        assertThat(job.getState()).isEqualTo(JobState.QUEUED);
        assertThat(job.getReason()).isEqualTo(JobReason.NODE_RESTART);
        assertThat(job.getRecoveries()).isEqualTo(1);

        job.start(List.of(0), T0);
        assertThat(job.getAttempt()).isEqualTo(2);
        assertThat(job.getReason()).isNull();
        assertThat(job.getMessage()).isNull();
    }

    @Test
    void aQueuedJobCannotSkipStarting() {
        assertThatThrownBy(() -> job.run(T0)).isInstanceOf(IllegalJobTransitionException.class);
        assertThatThrownBy(() -> job.requeueAfterRestart("x", T0)).isInstanceOf(IllegalJobTransitionException.class);
    }
}
