package io.easycontext.service.security;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The tokens the API accepts. Only their SHA-256 digests are kept, and a presented token is compared with every
 * one in constant time, so that neither memory dumps nor response timing give a token away.
 */
final class ApiTokens {

    static final int MIN_LENGTH = 16;

    /** A token that matched: its role, and a name for logs that is not the token. */
    record Holder(String name, ApiRole role) {
    }

    private record Entry(byte[] digest, Holder holder) {
    }

    private final List<Entry> entries = new ArrayList<>();

    ApiTokens(List<String> adminTokens, List<String> readTokens) {
        add(adminTokens, ApiRole.ADMIN, "admin");
        add(readTokens, ApiRole.READER, "reader");
    }

    private void add(List<String> tokens, ApiRole role, String prefix) {
        for (int i = 0; i < tokens.size(); i++) {
            String token = tokens.get(i).strip();
            if (token.length() < MIN_LENGTH) {
                throw new IllegalArgumentException("easycontext.security: " + prefix + " token #" + (i + 1)
                        + " is shorter than " + MIN_LENGTH + " characters");
            }
            entries.add(new Entry(digest(token), new Holder(prefix + "-" + (i + 1), role)));
        }
    }

    Optional<Holder> match(String presented) {
        byte[] digest = digest(presented);
        Holder found = null;
        for (Entry entry : entries) {
            // No early exit: every presented token costs the same comparisons.
            if (MessageDigest.isEqual(entry.digest(), digest)) {
                found = entry.holder();
            }
        }
        return Optional.ofNullable(found);
    }

    private static byte[] digest(String token) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }
}
