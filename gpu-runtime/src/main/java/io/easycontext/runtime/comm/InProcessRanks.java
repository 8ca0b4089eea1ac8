package io.easycontext.runtime.comm;

import java.time.Duration;
import java.util.List;

/**
 * Runs one body per simulated rank, each on its own thread with its own in-process communicator, and returns their
 * results in rank order ({@link RankThreads} says how failures end the run).
 */
public final class InProcessRanks {

    /** The work of one rank. */
    @FunctionalInterface
    public interface RankBody<T> {
        T run(InProcessCommunicator world) throws Exception;
    }

    private InProcessRanks() {
    }

    public static <T> List<T> run(int size, RankBody<T> body) {
        return run(size, InProcessCommunicator.DEFAULT_TIMEOUT, body);
    }

    public static <T> List<T> run(int size, Duration timeout, RankBody<T> body) {
        List<InProcessCommunicator> comms = InProcessCommunicator.create(size, timeout);
        return RankThreads.run(size, rank -> body.run(comms.get(rank)),
                (rank, cause) -> comms.get(Math.max(rank, 0)).abort(cause));
    }
}
