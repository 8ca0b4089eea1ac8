package io.easycontext.service.recovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.BDDMockito.given;
import static org.mockito.Mockito.mock;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

import io.easycontext.service.job.Job;
import io.easycontext.service.job.JobChanges;
import io.easycontext.service.job.JobKind;
import io.easycontext.service.job.JobReason;
import io.easycontext.service.job.JobRepository;
import io.easycontext.service.job.JobState;
import io.easycontext.service.log.JobLog;
import org.junit.jupiter.api.Test;
import org.springframework.transaction.PlatformTransactionManager;

/** What start-up does with the jobs a dead process left behind; the kill -9 test does it for real. */
class StartupRecoveryTest {

    private static final Instant T0 = Instant.parse("2026-01-02T03:04:05Z");

    private final JobRepository jobs = mock(JobRepository.class);
    private final JobChanges changes = new JobChanges(jobs, mock(PlatformTransactionManager.class),
            Clock.fixed(T0, ZoneOffset.UTC));
    private final StartupRecovery recovery = new StartupRecovery(jobs, changes, mock(JobLog.class),
            new RecoveryProperties(2));

    @Test
    void startedJobsAreRequeuedUntilTheirRestartsRunOutAndCancellingOnesAreCancelled() {
        Job running = started();
        running.run(T0);
        Job starting = started();
        Job tooOften = started();
        tooOften.requeueAfterRestart("1", T0);
        tooOften.start(List.of(), T0);
        tooOften.requeueAfterRestart("2", T0);
        tooOften.start(List.of(), T0);
        Job cancelling = started();
        cancelling.requestCancel(T0);
        given(jobs.findByStateIn(any())).willReturn(List.of(running, starting, tooOften, cancelling));

        recovery.run(null);

        assertThat(running.getState()).isEqualTo(JobState.QUEUED);
        assertThat(running.getReason()).isEqualTo(JobReason.NODE_RESTART);
        assertThat(running.getMessage()).isEqualTo("requeued after a node restart (1 of at most 2)");
        assertThat(starting.getState()).isEqualTo(JobState.QUEUED);
        assertThat(tooOften.getState()).isEqualTo(JobState.FAILED);
        assertThat(tooOften.getReason()).isEqualTo(JobReason.NODE_RESTART);
        assertThat(cancelling.getState()).isEqualTo(JobState.CANCELLED);
        assertThat(cancelling.getReason()).isEqualTo(JobReason.USER_CANCELLED);
    }

    private Job started() {
        Job job = Job.queued(UUID.randomUUID(), JobKind.TRAIN, 0, 0, "{}", T0);
        job.start(List.of(), T0);
        given(jobs.findById(job.getId())).willReturn(Optional.of(job));
        return job;
    }
}
