package io.easycontext.service.security;

import java.util.List;

import org.springframework.security.authentication.AbstractAuthenticationToken;
import org.springframework.security.core.GrantedAuthority;

/** A bearer token: as presented (not yet checked), or once checked, its holder's name and role. */
final class ApiTokenAuthentication extends AbstractAuthenticationToken {

    private final transient String token;
    private final String holder;

    private ApiTokenAuthentication(String token, String holder, List<GrantedAuthority> authorities) {
        super(authorities);
        this.token = token;
        this.holder = holder;
        setAuthenticated(holder != null);
    }

    static ApiTokenAuthentication presented(String token) {
        return new ApiTokenAuthentication(token, null, List.of());
    }

    static ApiTokenAuthentication of(ApiTokens.Holder holder) {
        return new ApiTokenAuthentication(null, holder.name(), holder.role().authorities());
    }

    String token() {
        return token;
    }

    /** The token itself is never a credential anyone can read back once checked. */
    @Override
    public Object getCredentials() {
        return null;
    }

    @Override
    public Object getPrincipal() {
        return holder;
    }
}
