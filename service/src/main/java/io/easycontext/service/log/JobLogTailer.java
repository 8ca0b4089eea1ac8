package io.easycontext.service.log;

import java.io.IOException;
import java.util.List;
import java.util.UUID;

import io.easycontext.service.job.Job;
import io.easycontext.service.web.JobStreams;
import org.springframework.stereotype.Component;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;

/**
 * Follows a job's log for a Server-Sent Events client: first every line after the one the client has (catch-up),
 * then new lines as they are written, each as an event whose id is the line's, so that a reconnecting client's
 * {@code Last-Event-ID} resumes exactly. {@link JobStreams} polls and ends the stream once the job has ended and its
 * last lines are out.
 */
@Component
class JobLogTailer {

    private static final int BATCH = 500;

    private final JobLog log;
    private final JobStreams streams;

    JobLogTailer(JobLog log, JobStreams streams) {
        this.log = log;
        this.streams = streams;
    }

    SseEmitter follow(UUID jobId, long afterLineId) {
        return streams.follow(jobId, new Tail(afterLineId));
    }

    /** One client's position in one job's log. */
    private final class Tail implements JobStreams.Feed {
        private long lastSent;

        Tail(long afterLineId) {
            this.lastSent = afterLineId;
        }

        @Override
        public boolean sendNew(Job job, SseEmitter emitter) throws IOException {
            List<JobLogLine> lines = log.after(job.getId(), lastSent, BATCH);
            for (JobLogLine line : lines) {
                emitter.send(SseEmitter.event().id(Long.toString(line.getId())).data(line.getLine()));
                lastSent = line.getId();
            }
            return !lines.isEmpty();
        }
    }
}
