package io.easycontext.service.testsupport;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Skips the class, with a message in the test report and on stderr, where {@link HeadlessChromium} finds no browser
 * or driver; decided before the class's Spring context starts, so a skip costs nothing.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(ChromiumAvailableCondition.class)
public @interface RequiresChromium {
}
