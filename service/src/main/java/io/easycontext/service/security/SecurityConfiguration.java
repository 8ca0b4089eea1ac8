package io.easycontext.service.security;

import java.util.List;

import io.easycontext.service.config.DataDirectory;
import jakarta.servlet.DispatcherType;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.HttpMethod;
import org.springframework.security.authentication.ProviderManager;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.annotation.web.configuration.EnableWebSecurity;
import org.springframework.security.config.http.SessionCreationPolicy;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.authentication.AnonymousAuthenticationFilter;
import org.springframework.security.web.authentication.AuthenticationEntryPointFailureHandler;
import org.springframework.security.web.authentication.AuthenticationFilter;
import org.springframework.web.cors.CorsConfiguration;
import org.springframework.web.cors.CorsConfigurationSource;
import org.springframework.web.cors.UrlBasedCorsConfigurationSource;
import tools.jackson.databind.json.JsonMapper;

/**
 * Who may do what: a bearer token with the admin role for every change (submit, cancel); reads open to anyone
 * unless {@code easycontext.security.anonymous-read} is false, then to any token; health, info, Prometheus, the
 * OpenAPI description and the dashboard's static files open to anyone. Stateless: no session, no cookie, hence no
 * CSRF token either. CORS is closed unless origins are configured.
 */
@Configuration(proxyBeanMethods = false)
@EnableWebSecurity
class SecurityConfiguration {

    @Bean
    ApiTokens apiTokens(ApiSecurityProperties properties, DataDirectory dataDirectory) {
        List<String> admins = properties.adminTokens().isEmpty()
                ? List.of(AdminTokenFile.readOrCreate(dataDirectory.root()))
                : properties.adminTokens();
        return new ApiTokens(admins, properties.readTokens());
    }

    /** As a bean it is also what tells Spring Boot not to set up its default user with a generated password. */
    @Bean
    ApiTokenAuthenticationProvider apiTokenAuthenticationProvider(ApiTokens tokens) {
        return new ApiTokenAuthenticationProvider(tokens);
    }

    @Bean
    SecurityFilterChain apiSecurity(HttpSecurity http, ApiTokenAuthenticationProvider tokens,
            ApiSecurityProperties properties, JsonMapper json) {
        ProblemSecurityResponses problems = new ProblemSecurityResponses(json);
        AuthenticationFilter bearer = new AuthenticationFilter(new ProviderManager(tokens), new BearerTokenConverter());
        bearer.setFailureHandler(new AuthenticationEntryPointFailureHandler(problems));
        // The default success handler redirects, as after a login form; an API call just goes on.
        bearer.setSuccessHandler((request, response, authentication) -> { });
        http
                .csrf(csrf -> csrf.disable())
                .sessionManagement(session -> session.sessionCreationPolicy(SessionCreationPolicy.STATELESS))
                .requestCache(cache -> cache.disable())
                .httpBasic(basic -> basic.disable())
                .formLogin(form -> form.disable())
                .logout(logout -> logout.disable())
                .cors(cors -> cors.configurationSource(cors(properties)))
                .addFilterBefore(bearer, AnonymousAuthenticationFilter.class)
                .exceptionHandling(errors -> errors.authenticationEntryPoint(problems).accessDeniedHandler(problems))
                .authorizeHttpRequests(requests -> {
                    // An SSE stream continues in an async dispatch of a request that was already authorised.
                    requests.dispatcherTypeMatchers(DispatcherType.ASYNC, DispatcherType.ERROR).permitAll();
                    requests.requestMatchers(HttpMethod.GET, "/actuator/health", "/actuator/health/**",
                            "/actuator/info", "/actuator/prometheus").permitAll();
                    requests.requestMatchers(HttpMethod.GET, "/v3/api-docs", "/v3/api-docs/**", "/swagger-ui.html",
                            "/swagger-ui/**").permitAll();
                    // The dashboard's files hold no data: what it shows comes through the API, under the API's rules.
                    requests.requestMatchers(HttpMethod.GET, "/", "/index.html", "/dashboard/**").permitAll();
                    if (properties.anonymousRead()) {
                        requests.requestMatchers(HttpMethod.GET, "/api/**").permitAll();
                    } else {
                        requests.requestMatchers(HttpMethod.GET, "/api/**").hasRole(ApiRole.READER.name());
                    }
                    // POST /api/plans changes nothing but stays here: validating a spec reads the server's files
                    // (a model directory's config.json), which only those who may submit should be able to probe.
                    requests.requestMatchers("/api/**").hasRole(ApiRole.ADMIN.name());
                    requests.anyRequest().denyAll();
                });
        return http.build();
    }

    private static CorsConfigurationSource cors(ApiSecurityProperties properties) {
        UrlBasedCorsConfigurationSource source = new UrlBasedCorsConfigurationSource();
        if (!properties.corsAllowedOrigins().isEmpty()) {
            CorsConfiguration config = new CorsConfiguration();
            config.setAllowedOrigins(properties.corsAllowedOrigins());
            config.setAllowedMethods(List.of("GET", "POST"));
            config.setAllowedHeaders(List.of("Authorization", "Content-Type", "Idempotency-Key", "Last-Event-ID"));
            config.setExposedHeaders(List.of("Location"));
            source.registerCorsConfiguration("/api/**", config);
        }
        return source;
    }
}
