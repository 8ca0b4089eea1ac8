package io.easycontext.service.live;

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
class JobEventController {

    private final JobEventTailer tailer;

    JobEventController(JobEventTailer tailer) {
        this.tailer = tailer;
    }

    @Operation(summary = "Stream a job's state and steps", description = "Server-Sent Events: `job` (the job, at once "
            + "and whenever it changes), `step` (a training's optimizer steps from its metrics files, every earlier "
            + "one first; the event id is the step over all stages), and `end` with the final state, which closes it.")
    @GetMapping(path = "/api/jobs/{id}/events", produces = MediaType.TEXT_EVENT_STREAM_VALUE)
    SseEmitter events(@PathVariable UUID id,
            @Parameter(description = "Set by reconnecting EventSource clients: resume after this step")
            @RequestHeader(name = "Last-Event-ID", required = false) Long lastEventId,
            @Parameter(description = "Start after this step; 0, the default, replays every step")
            @RequestParam(defaultValue = "0") long after) {
        return tailer.follow(id, lastEventId != null ? lastEventId : after);
    }
}
