package io.easycontext.service.job;

import java.util.List;

/**
 * One page of the job list.
 *
 * @param next the cursor of the next page, for {@code ?cursor=}; null on the last page
 */
record JobPageResponse(List<JobResponse> jobs, String next) {

    static JobPageResponse of(JobService.Page page) {
        return new JobPageResponse(page.jobs().stream().map(JobResponse::of).toList(),
                page.next() == null ? null : page.next().encode());
    }
}
