package io.easycontext.service.log;

import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.UUID;

import org.springframework.data.domain.Limit;
import org.springframework.stereotype.Component;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.support.TransactionTemplate;

/** Jobs' logs, kept in the database so that they outlive the process and can be replayed to any reader. */
@Component
public class JobLog {

    static final int MAX_LINE = 4096;

    private final JobLogRepository lines;
    private final TransactionTemplate ownTransaction;
    private final Clock clock;

    JobLog(JobLogRepository lines, PlatformTransactionManager transactionManager, Clock clock) {
        this.lines = lines;
        this.ownTransaction = new TransactionTemplate(transactionManager);
        // A line is written whatever the caller's transaction does, even from an after-commit event listener,
        // whose transaction is over but still bound.
        this.ownTransaction.setPropagationBehavior(TransactionDefinition.PROPAGATION_REQUIRES_NEW);
        this.clock = clock;
    }

    /**
     * Appends one line, committed before this returns. Appends are serialised so that ids are committed in the
     * order they are drawn: a reader that has seen id {@code n} never later finds a line below {@code n} appear.
     */
    public synchronized void append(UUID jobId, String line) {
        Instant now = clock.instant().truncatedTo(ChronoUnit.MICROS);
        ownTransaction.executeWithoutResult(status -> lines.save(new JobLogLine(jobId, now, oneLine(line))));
    }

    /** Up to {@code limit} lines of the job after the line with id {@code afterId} (0: from the start), in order. */
    public List<JobLogLine> after(UUID jobId, long afterId, int limit) {
        return lines.findByJobIdAndIdGreaterThanOrderByIdAsc(jobId, afterId, Limit.of(limit));
    }

    /** A line is one SSE data field and one column value: no line breaks, bounded length. */
    private static String oneLine(String line) {
        String flat = line.replaceAll("[\\r\\n]+", " ");
        return flat.length() <= MAX_LINE ? flat : flat.substring(0, MAX_LINE - 1) + "…";
    }
}
