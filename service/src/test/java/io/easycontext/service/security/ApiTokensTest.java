package io.easycontext.service.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ApiTokensTest {

    @TempDir
    Path dataDir;

    @Test
    void aTokenMatchesItsHolderAndRoleAndNothingElseMatches() {
        ApiTokens tokens = new ApiTokens(List.of(TestTokens.ADMIN), List.of(TestTokens.READER, "second-reader-token-0002"));

        assertThat(tokens.match(TestTokens.ADMIN)).contains(new ApiTokens.Holder("admin-1", ApiRole.ADMIN));
        assertThat(tokens.match("second-reader-token-0002")).contains(new ApiTokens.Holder("reader-2", ApiRole.READER));
        assertThat(tokens.match(TestTokens.ADMIN + "x")).isEmpty();
        assertThat(tokens.match("")).isEmpty();
    }

    @Test
    void aShortTokenIsRefusedAtStartUpWithoutShowingIt() {
        assertThatThrownBy(() -> new ApiTokens(List.of("short-secret"), List.of()))
                .hasMessage("easycontext.security: admin token #1 is shorter than 16 characters")
                .hasMessageNotContaining("short-secret");
    }

    @Test
    void theGeneratedAdminTokenIsKeptReadableByItsOwnerOnlyAndReusedAtTheNextStart() throws IOException {
        String first = AdminTokenFile.readOrCreate(dataDir);
        String second = AdminTokenFile.readOrCreate(dataDir);

        Path file = dataDir.resolve("admin-token");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        assertThat(first).hasSizeGreaterThanOrEqualTo(ApiTokens.MIN_LENGTH).isEqualTo(second);
        assertThat(new ApiTokens(List.of(first), List.of()).match(first)).isPresent();
    }

    @Test
    void thePropertiesNeverPrintTheirTokens() {
        ApiSecurityProperties properties = new ApiSecurityProperties(List.of(TestTokens.ADMIN), null, null, null);

        assertThat(properties.toString()).doesNotContain(TestTokens.ADMIN).contains("1 admin token(s)");
    }
}
