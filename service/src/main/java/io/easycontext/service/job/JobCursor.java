package io.easycontext.service.job;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.UUID;

/**
 * Where a page of the job list ended: the sort key (creation time, id) of its last job. Opaque to clients, so
 * that the encoding can change; keyset pagination stays stable while jobs are added, unlike offsets.
 */
record JobCursor(Instant createdAt, UUID id) {

    static JobCursor after(Job last) {
        return new JobCursor(last.getCreatedAt(), last.getId());
    }

    String encode() {
        long micros = ChronoUnit.MICROS.between(Instant.EPOCH, createdAt);
        return Base64.getUrlEncoder().withoutPadding()
                .encodeToString((micros + "/" + id).getBytes(StandardCharsets.US_ASCII));
    }

    /** Throws {@link IllegalArgumentException} for anything this class did not encode. */
    static JobCursor decode(String cursor) {
        String text = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.US_ASCII);
        int slash = text.indexOf('/');
        if (slash < 0) {
            throw new IllegalArgumentException("no separator");
        }
        Instant createdAt = Instant.EPOCH.plus(Long.parseLong(text.substring(0, slash)), ChronoUnit.MICROS);
        return new JobCursor(createdAt, UUID.fromString(text.substring(slash + 1)));
    }
}
