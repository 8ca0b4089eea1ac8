package io.easycontext.service.job;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;

import io.easycontext.runtime.spec.Violation;
import io.easycontext.service.job.spec.JobDevices;
import io.easycontext.service.job.spec.JobSpec;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.data.domain.Sort;
import org.springframework.stereotype.Service;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.transaction.support.TransactionTemplate;
import tools.jackson.databind.json.JsonMapper;

/** Submitting, reading and cancelling jobs: what clients do. Running them is the scheduler's and the runners'. */
@Service
public class JobService {

    private static final Sort NEWEST_FIRST = Sort.by(Sort.Order.desc("createdAt"), Sort.Order.desc("id"));

    private final JobRepository jobs;
    private final JobChanges changes;
    private final JobAdmission admission;
    private final JsonMapper json;
    private final ApplicationEventPublisher events;
    private final TransactionTemplate transactions;

    JobService(JobRepository jobs, JobChanges changes, JobAdmission admission, JsonMapper json,
            ApplicationEventPublisher events, PlatformTransactionManager transactionManager) {
        this.jobs = jobs;
        this.changes = changes;
        this.admission = admission;
        this.json = json;
        this.events = events;
        this.transactions = new TransactionTemplate(transactionManager);
    }

    /** A submission's job, and whether this call created it rather than finding it by its idempotency key. */
    public record Submission(Job job, boolean created) {
    }

    /**
     * Queues a job for a valid spec, or returns the job an earlier submission with the same idempotency key created.
     * Two submissions racing with one key both end up with the one job: the loser's insert breaks the unique key,
     * and it reads the winner's job.
     */
    public Submission submit(JobSpec spec, String idempotencyKey) {
        try {
            return transactions.execute(status -> submitOnce(spec, idempotencyKey));
        } catch (DataIntegrityViolationException e) {
            if (idempotencyKey == null) {
                throw e;
            }
            return transactions.execute(status -> submitOnce(spec, idempotencyKey));
        }
    }

    private Submission submitOnce(JobSpec spec, String idempotencyKey) {
        String specJson = json.writeValueAsString(spec.spec());
        if (idempotencyKey != null) {
            Optional<Job> earlier = jobs.findByIdempotencyKey(idempotencyKey);
            if (earlier.isPresent()) {
                return new Submission(sameRequest(earlier.get(), spec, specJson), false);
            }
        }
        List<Violation> refused = admission.check(spec);
        if (!refused.isEmpty()) {
            throw new JobRejectedException(refused);
        }
        Job job = jobs.saveAndFlush(Job.queued(UUID.randomUUID(), spec.kind(), spec.priority(), spec.gpus(),
                specJson, RuntimeCommandLines.of(spec.spec()), idempotencyKey, changes.now()));
        events.publishEvent(new JobEvents.Submitted(job.getId(), job.getKind(), job.getPriority(), job.getGpus()));
        return new Submission(job, true);
    }

    private Job sameRequest(Job earlier, JobSpec spec, String specJson) {
        // A GPU job that started shows the GPUs it was given where the request named placeholders.
        String asStarted = earlier.getGpuIds().isEmpty() ? specJson
                : json.writeValueAsString(JobDevices.onGpus(spec.spec(), earlier.getGpuIds()));
        boolean same = earlier.getKind() == spec.kind() && earlier.getPriority() == spec.priority()
                && earlier.getGpus() == spec.gpus() && Objects.equals(earlier.getSpecJson(), asStarted);
        if (!same) {
            throw new IdempotencyKeyReusedException(earlier.getId());
        }
        return earlier;
    }

    @Transactional(readOnly = true)
    public Job get(UUID id) {
        return jobs.findById(id).orElseThrow(() -> new JobNotFoundException(id));
    }

    /** A page of jobs matching the query, newest first, and the cursor of the next page if there may be one. */
    @Transactional(readOnly = true)
    public Page list(JobQuery query, int limit) {
        // One more than asked for tells whether another page exists without a count query.
        List<Job> found = jobs.findBy(query.toSpecification(), q -> q.sortBy(NEWEST_FIRST).limit(limit + 1).all());
        List<Job> page = found.subList(0, Math.min(limit, found.size()));
        JobCursor next = found.size() > limit ? JobCursor.after(page.get(page.size() - 1)) : null;
        return new Page(page, next);
    }

    public record Page(List<Job> jobs, JobCursor next) {
    }

    /**
     * Cancels a queued job at once and asks a started one to stop; idempotent. A finished job cannot be cancelled.
     */
    public Job cancel(UUID id) {
        boolean[] changed = new boolean[1];
        Job job = changes.apply(id, (j, now) -> {
            changed[0] = j.requestCancel(now);
            return j;
        });
        if (changed[0]) {
            events.publishEvent(new JobEvents.CancelRequested(id, job.getState()));
        }
        return job;
    }
}
