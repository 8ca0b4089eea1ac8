package io.easycontext.service.execution;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.easycontext.service.job.JobKind;
import org.springframework.stereotype.Component;

/** The executor of each kind that has one. */
@Component
public class JobExecutors {

    private final Map<JobKind, JobExecutor> byKind = new EnumMap<>(JobKind.class);

    JobExecutors(List<JobExecutor> executors) {
        for (JobExecutor executor : executors) {
            JobExecutor previous = byKind.put(executor.kind(), executor);
            if (previous != null) {
                throw new IllegalStateException("two executors for " + executor.kind() + ": "
                        + previous.getClass().getName() + " and " + executor.getClass().getName());
            }
        }
    }

    public Optional<JobExecutor> find(JobKind kind) {
        return Optional.ofNullable(byKind.get(kind));
    }
}
