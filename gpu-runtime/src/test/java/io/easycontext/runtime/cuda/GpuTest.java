package io.easycontext.runtime.cuda;

import org.junit.jupiter.api.Tag;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/** Marks a test that needs a GPU: tagged {@code gpu}, and it skips itself (via {@link Gpus#assumeGpu}) without one. */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Tag("gpu")
public @interface GpuTest {
}
