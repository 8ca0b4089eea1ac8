package io.easycontext.service.security;

import java.util.List;

import org.springframework.security.core.GrantedAuthority;
import org.springframework.security.core.authority.SimpleGrantedAuthority;

/** What a token may do: READER reads, ADMIN also submits and cancels. */
public enum ApiRole {
    READER,
    ADMIN;

    /** An admin can do what a reader can, so its authorities include the reader's. */
    List<GrantedAuthority> authorities() {
        return this == ADMIN
                ? List.of(new SimpleGrantedAuthority("ROLE_ADMIN"), new SimpleGrantedAuthority("ROLE_READER"))
                : List.of(new SimpleGrantedAuthority("ROLE_READER"));
    }
}
