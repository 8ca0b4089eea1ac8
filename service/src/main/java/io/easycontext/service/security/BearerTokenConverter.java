package io.easycontext.service.security;

import jakarta.servlet.http.HttpServletRequest;
import org.springframework.http.HttpHeaders;
import org.springframework.security.authentication.BadCredentialsException;
import org.springframework.security.core.Authentication;
import org.springframework.security.web.authentication.AuthenticationConverter;

/** {@code Authorization: Bearer <token>} (RFC 6750); null, that is anonymous, without the header. */
final class BearerTokenConverter implements AuthenticationConverter {

    private static final String SCHEME = "Bearer ";

    @Override
    public Authentication convert(HttpServletRequest request) {
        String header = request.getHeader(HttpHeaders.AUTHORIZATION);
        if (header == null) {
            return null;
        }
        if (!header.regionMatches(true, 0, SCHEME, 0, SCHEME.length()) || header.length() == SCHEME.length()) {
            throw new BadCredentialsException("The Authorization header must be 'Bearer <token>'");
        }
        return ApiTokenAuthentication.presented(header.substring(SCHEME.length()).strip());
    }
}
