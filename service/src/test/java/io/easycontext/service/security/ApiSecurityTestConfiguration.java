package io.easycontext.service.security;

import io.easycontext.service.config.DataDirectory;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Import;

/**
 * The service's security for web slice tests, with the tokens of {@link TestTokens}: import it next to
 * {@code @TestPropertySource(properties = TestTokens.PROPERTIES)}.
 */
@TestConfiguration(proxyBeanMethods = false)
@Import({SecurityConfiguration.class, DataDirectory.class})
@EnableConfigurationProperties(ApiSecurityProperties.class)
public class ApiSecurityTestConfiguration {
}
