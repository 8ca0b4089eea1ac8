package io.easycontext.service.security;

import java.util.List;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * {@code easycontext.security.*}: who may call the API. Tokens usually come from the environment, e.g.
 * {@code EASYCONTEXT_SECURITY_ADMIN_TOKENS=token1,token2}.
 *
 * @param adminTokens bearer tokens that may do everything; none configured means one is generated at first start
 *     and kept in {@code <data-dir>/admin-token}
 * @param readTokens bearer tokens that may only read
 * @param anonymousRead whether GET requests under {@code /api} need no token (the default); health, info and
 *     Prometheus need none either way
 * @param corsAllowedOrigins origins whose browser scripts may call the API; none (the default) closes CORS
 */
@ConfigurationProperties("easycontext.security")
public record ApiSecurityProperties(
        List<String> adminTokens,
        List<String> readTokens,
        Boolean anonymousRead,
        List<String> corsAllowedOrigins) {

    public ApiSecurityProperties {
        adminTokens = adminTokens == null ? List.of() : List.copyOf(adminTokens);
        readTokens = readTokens == null ? List.of() : List.copyOf(readTokens);
        anonymousRead = anonymousRead == null || anonymousRead;
        corsAllowedOrigins = corsAllowedOrigins == null ? List.of() : List.copyOf(corsAllowedOrigins);
    }

    /** Never the tokens themselves: this record can end up in logs and error messages. */
    @Override
    public String toString() {
        return "ApiSecurityProperties[" + adminTokens.size() + " admin token(s), " + readTokens.size()
                + " read token(s), anonymousRead=" + anonymousRead + ", corsAllowedOrigins=" + corsAllowedOrigins + "]";
    }
}
