package io.easycontext.service.security;

/** Tokens that tests configure and send. */
public final class TestTokens {

    public static final String ADMIN = "admin-token-for-tests-0001";
    public static final String READER = "reader-token-for-tests-0001";

    /** Properties that configure both, for {@code @TestPropertySource} or {@code @SpringBootTest}. */
    public static final String ADMIN_PROPERTY = "easycontext.security.admin-tokens=" + ADMIN;
    public static final String READER_PROPERTY = "easycontext.security.read-tokens=" + READER;

    private TestTokens() {
    }

    public static String bearer(String token) {
        return "Bearer " + token;
    }
}
