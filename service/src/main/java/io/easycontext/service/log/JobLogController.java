package io.easycontext.service.log;

import java.util.UUID;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;

@RestController
class JobLogController {

    private final JobLogTailer tailer;

    JobLogController(JobLogTailer tailer) {
        this.tailer = tailer;
    }

    @Operation(summary = "Stream a job's log", description = "Server-Sent Events: every earlier line, then new ones "
            + "as they come; each event's id is its line's. An `end` event with the job's final state closes it.")
    @GetMapping(path = "/api/jobs/{id}/logs", produces = MediaType.TEXT_EVENT_STREAM_VALUE)
    SseEmitter logs(@PathVariable UUID id,
            @Parameter(description = "Set by reconnecting EventSource clients: resume after this line")
            @RequestHeader(name = "Last-Event-ID", required = false) Long lastEventId,
            @Parameter(description = "Start after this line id; 0, the default, replays the whole log")
            @RequestParam(defaultValue = "0") long after) {
        return tailer.follow(id, lastEventId != null ? lastEventId : after);
    }
}
