package io.easycontext.service.job;

import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.UUID;
import java.util.function.BiFunction;

import org.springframework.orm.ObjectOptimisticLockingFailureException;
import org.springframework.stereotype.Component;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Applies one change to one job in a transaction of its own, reading the job fresh each time. Writers race (the
 * runner reports progress while a client cancels); the version column makes the loser fail, and the loser applies
 * its change again to the winner's result, where the state machine decides whether it still makes sense.
 */
@Component
public class JobChanges {

    private static final int ATTEMPTS = 10;

    private final JobRepository jobs;
    private final TransactionTemplate transactions;
    private final Clock clock;

    public JobChanges(JobRepository jobs, PlatformTransactionManager transactionManager, Clock clock) {
        this.jobs = jobs;
        this.transactions = new TransactionTemplate(transactionManager);
        this.clock = clock;
    }

    /** Runs {@code change} on the current job at the current time and saves it; returns what it returns. */
    public <T> T apply(UUID id, BiFunction<Job, Instant, T> change) {
        for (int attempt = 1; ; attempt++) {
            try {
                return transactions.execute(status -> {
                    Job job = jobs.findById(id).orElseThrow(() -> new JobNotFoundException(id));
                    T result = change.apply(job, now());
                    jobs.save(job);
                    return result;
                });
            } catch (ObjectOptimisticLockingFailureException e) {
                if (attempt == ATTEMPTS) {
                    throw e;
                }
            }
        }
    }

    /** Both databases keep microseconds: truncating here makes a returned job equal what a later read sees. */
    public Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MICROS);
    }
}
