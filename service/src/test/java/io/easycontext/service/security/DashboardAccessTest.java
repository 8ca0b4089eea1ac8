package io.easycontext.service.security;

import static io.easycontext.service.security.TestTokens.READER;
import static io.easycontext.service.security.TestTokens.bearer;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.webmvc.test.autoconfigure.WebMvcTest;
import org.springframework.context.annotation.Import;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.test.context.TestPropertySource;
import org.springframework.test.web.servlet.assertj.MockMvcTester;
import org.springframework.test.web.servlet.assertj.MvcTestResult;

/**
 * The dashboard's files are open to anyone even where reads of the API need a token (they hold no data), while the
 * API keeps its rules and CORS stays closed. No controllers: only security and static resources are under test.
 */
@WebMvcTest(useDefaultFilters = false)
@Import(ApiSecurityTestConfiguration.class)
@TestPropertySource(properties = {TestTokens.ADMIN_PROPERTY, TestTokens.READER_PROPERTY,
        "easycontext.security.anonymous-read=false", "easycontext.data-dir=target/slice-test-data"})
class DashboardAccessTest {

    private static final Pattern MODULE = Pattern.compile("(?:src|from)\\s*=?\\s*['\"](?:\\./)?(dashboard/)?([\\w-]+\\.js)['\"]");

    @Autowired
    private MockMvcTester mvc;

    @Test
    void theRootServesTheDashboardPageWithoutAToken() {
        assertThat(mvc.get().uri("/")).hasStatusOk().hasForwardedUrl("index.html");

        MvcTestResult page = mvc.get().uri("/index.html").exchange();

        assertThat(page).hasStatusOk().hasContentTypeCompatibleWith(MediaType.TEXT_HTML);
        assertThat(page).bodyText().contains("<script type=\"module\" src=\"dashboard/app.js\"></script>",
                "Content-Security-Policy");
    }

    @Test
    void everyModuleThePageLoadsIsServedAsJavaScriptWithoutAToken() {
        // Follows the imports from the page, so that a module missing from the jar fails here rather than in a browser.
        Set<String> seen = new LinkedHashSet<>();
        Deque<String> next = new ArrayDeque<>(modules(mvc.get().uri("/index.html").exchange()));
        while (!next.isEmpty()) {
            String module = next.pop();
            if (seen.add(module)) {
                MvcTestResult result = mvc.get().uri("/dashboard/" + module).exchange();
                assertThat(result).as(module).hasStatusOk().hasContentTypeCompatibleWith("text/javascript");
                next.addAll(modules(result));
            }
        }
        assertThat(seen).contains("app.js", "api.js", "sse.js", "job-list.js", "job-form.js", "job-page.js",
                "line-chart.js");
        assertThat(mvc.get().uri("/dashboard/dashboard.css")).hasStatusOk()
                .hasContentTypeCompatibleWith("text/css");
    }

    @Test
    void theApiStillNeedsATokenForReads() {
        assertThat(mvc.get().uri("/api/jobs")).hasStatus(HttpStatus.UNAUTHORIZED);
        // Past security with the token; this slice has no controller to answer.
        assertThat(mvc.get().uri("/api/jobs").header(HttpHeaders.AUTHORIZATION, bearer(READER)))
                .hasStatus(HttpStatus.NOT_FOUND);
    }

    @Test
    void otherPagesAndOtherMethodsStayClosed() {
        assertThat(mvc.post().uri("/index.html")).hasStatus(HttpStatus.UNAUTHORIZED);
        assertThat(mvc.get().uri("/application.yml")).hasStatus(HttpStatus.UNAUTHORIZED);
    }

    @Test
    void corsStaysClosedForTheApi() {
        MvcTestResult preflight = mvc.options().uri("/api/jobs")
                .header(HttpHeaders.ORIGIN, "https://elsewhere.example")
                .header(HttpHeaders.ACCESS_CONTROL_REQUEST_METHOD, "POST")
                .header(HttpHeaders.ACCESS_CONTROL_REQUEST_HEADERS, "Authorization")
                .exchange();

        // Without the header, the browser refuses the cross-origin call.
        assertThat(preflight).doesNotContainHeader(HttpHeaders.ACCESS_CONTROL_ALLOW_ORIGIN);
    }

    private static Set<String> modules(MvcTestResult result) {
        Set<String> found = new LinkedHashSet<>();
        Matcher m = MODULE.matcher(new String(result.getResponse().getContentAsByteArray(), StandardCharsets.UTF_8));
        while (m.find()) {
            found.add(m.group(2));
        }
        return found;
    }
}
