package io.easycontext.service.job;

import java.util.List;

import io.easycontext.runtime.spec.CommandLine;
import io.easycontext.runtime.spec.RunSpec;

/** A job's {@code commandLines}: the runtime CLI commands that run its spec, one per run. */
public final class RuntimeCommandLines {

    /** How the command lines show the runtime's CLI: the jar the README builds. */
    static final String RUNTIME_CLI = "java -jar gpu-runtime/target/gpu-runtime.jar";

    private RuntimeCommandLines() {
    }

    public static List<String> of(RunSpec spec) {
        return spec.commandLines().stream()
                .map(args -> RUNTIME_CLI + " " + CommandLine.render(args))
                .toList();
    }
}
