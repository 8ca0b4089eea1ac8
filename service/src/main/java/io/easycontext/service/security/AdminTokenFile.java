package io.easycontext.service.security;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.EnumSet;
import java.util.Set;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin token of a node started with no token configured: 32 random bytes, generated at the first start and
 * kept in {@code <data-dir>/admin-token}, readable by the service's user only. The log says where it is, never
 * what it is.
 */
final class AdminTokenFile {

    private static final Logger log = LoggerFactory.getLogger(AdminTokenFile.class);
    private static final Set<PosixFilePermission> OWNER_ONLY =
            EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);

    private AdminTokenFile() {
    }

    static String readOrCreate(Path dataDir) {
        Path file = dataDir.resolve("admin-token");
        try {
            if (!Files.exists(file)) {
                try {
                    create(file);
                    log.info("No admin token configured: generated one in {} (readable by this user only). Send it as "
                            + "'Authorization: Bearer <token>'; set easycontext.security.admin-tokens to choose your "
                            + "own.", file);
                } catch (FileAlreadyExistsException e) {
                    // Another process created it first: use theirs.
                }
            } else {
                log.info("No admin token configured: using the one in {}", file);
            }
            return Files.readString(file, StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read or create the admin token file " + file, e);
        }
    }

    private static void create(Path file) throws IOException {
        byte[] random = new byte[32];
        new SecureRandom().nextBytes(random);
        String token = Base64.getUrlEncoder().withoutPadding().encodeToString(random);
        boolean posix = file.getFileSystem().supportedFileAttributeViews().contains("posix");
        // Created with its permissions in one step, so that the token is never readable by others, not even briefly.
        if (posix) {
            Files.createFile(file, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
        } else {
            Files.createFile(file);
        }
        Files.writeString(file, token + "\n", StandardCharsets.UTF_8, StandardOpenOption.TRUNCATE_EXISTING);
    }
}
