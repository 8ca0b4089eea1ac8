package io.easycontext.service.job;

import static io.easycontext.service.job.JobState.CANCELLED;
import static io.easycontext.service.job.JobState.CANCELLING;
import static io.easycontext.service.job.JobState.FAILED;
import static io.easycontext.service.job.JobState.QUEUED;
import static io.easycontext.service.job.JobState.RUNNING;
import static io.easycontext.service.job.JobState.STARTING;
import static io.easycontext.service.job.JobState.SUCCEEDED;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.EnumSet;
import java.util.Set;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.EnumSource;

/** The transition table, pair by pair: every move not listed here is refused. */
class JobStateTest {

    static Stream<Arguments> table() {
        return Stream.of(
                Arguments.of(QUEUED, EnumSet.of(STARTING, CANCELLED)),
                Arguments.of(STARTING, EnumSet.of(RUNNING, CANCELLING, FAILED, QUEUED)),
                Arguments.of(RUNNING, EnumSet.of(CANCELLING, SUCCEEDED, FAILED, QUEUED)),
                Arguments.of(CANCELLING, EnumSet.of(CANCELLED, SUCCEEDED, FAILED)),
                Arguments.of(SUCCEEDED, EnumSet.noneOf(JobState.class)),
                Arguments.of(FAILED, EnumSet.noneOf(JobState.class)),
                Arguments.of(CANCELLED, EnumSet.noneOf(JobState.class)));
    }

    @ParameterizedTest
    @MethodSource("table")
    void eachStateMovesExactlyToItsListedSuccessors(JobState from, Set<JobState> allowed) {
        for (JobState to : JobState.values()) {
            assertThat(from.canMoveTo(to)).as(from + " → " + to).isEqualTo(allowed.contains(to));
        }
        assertThat(from.isTerminal()).isEqualTo(allowed.isEmpty());
    }

    @ParameterizedTest
    @EnumSource(JobState.class)
    void noStateMovesToItself(JobState state) {
        assertThat(state.canMoveTo(state)).isFalse();
    }

    @ParameterizedTest
    @EnumSource(JobState.class)
    void everyTerminalStateHasAReasonThatExplainsIt(JobState state) {
        if (state.isTerminal()) {
            assertThat(JobReason.values()).anyMatch(reason -> reason.explains(state));
        }
    }
}
