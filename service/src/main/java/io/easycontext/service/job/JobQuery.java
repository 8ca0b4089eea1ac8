package io.easycontext.service.job;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import jakarta.persistence.criteria.Predicate;
import org.springframework.data.jpa.domain.Specification;

/**
 * A filter of the job list, and where the previous page ended.
 *
 * @param state only jobs in this state; null for all
 * @param kind only jobs of this kind; null for all
 * @param after the end of the previous page; null for the first
 */
record JobQuery(JobState state, JobKind kind, JobCursor after) {

    /** Newest first: jobs created before the cursor, or at the same instant with a smaller id. */
    Specification<Job> toSpecification() {
        return (root, query, cb) -> {
            List<Predicate> where = new ArrayList<>();
            if (state != null) {
                where.add(cb.equal(root.get("state"), state));
            }
            if (kind != null) {
                where.add(cb.equal(root.get("kind"), kind));
            }
            if (after != null) {
                where.add(cb.or(
                        cb.lessThan(root.<Instant>get("createdAt"), after.createdAt()),
                        cb.and(cb.equal(root.get("createdAt"), after.createdAt()),
                                cb.lessThan(root.<UUID>get("id"), after.id()))));
            }
            return cb.and(where.toArray(Predicate[]::new));
        };
    }
}
