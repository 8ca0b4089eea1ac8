package io.easycontext.service.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.springframework.http.MediaType;
import org.springframework.test.web.servlet.assertj.MvcTestResult;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** One Server-Sent Event as it came over the wire: {@code name} is {@code message} where the event names none. */
public record ServerSentEvent(String name, String id, String data) {

    private static final JsonMapper JSON = new JsonMapper();

    public JsonNode json() {
        return JSON.readTree(data);
    }

    /** The events of a stream that a slice test received whole, once it has checked that it was one. */
    public static List<ServerSentEvent> in(MvcTestResult result) {
        assertThat(result).hasStatusOk();
        assertThat(result.getResponse().getContentType()).startsWith(MediaType.TEXT_EVENT_STREAM_VALUE);
        return parse(new String(result.getResponse().getContentAsByteArray(), StandardCharsets.UTF_8));
    }

    private static List<ServerSentEvent> parse(String stream) {
        List<ServerSentEvent> events = new ArrayList<>();
        for (String block : stream.split("\n\n")) {
            String name = "message";
            String id = null;
            StringBuilder data = new StringBuilder();
            for (String line : block.split("\n")) {
                if (line.startsWith("event:")) {
                    name = line.substring(6);
                } else if (line.startsWith("id:")) {
                    id = line.substring(3);
                } else if (line.startsWith("data:")) {
                    data.append(line.substring(5));
                }
            }
            if (!data.isEmpty()) {
                events.add(new ServerSentEvent(name, id, data.toString()));
            }
        }
        return events;
    }
}
