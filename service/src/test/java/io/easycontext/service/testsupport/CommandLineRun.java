package io.easycontext.service.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import io.easycontext.runtime.cli.Main;

/**
 * A job's command line run through the runtime's CLI in this JVM, as if started in a directory of the test's: the
 * relative {@code --output-dir} it names, or the evaluation commands' default {@code eval-results}, lands there
 * rather than in the build's working directory.
 */
public final class CommandLineRun {

    private static final String EVAL_DEFAULT_OUTPUT_DIR = "eval-results";

    private CommandLineRun() {
    }

    /** Runs {@code commandLine} (as the job shows it, {@code java -jar ... <command> --flag value ...}); its stdout. */
    public static String in(Path dir, String commandLine) {
        List<String> words = Arrays.asList(commandLine.split(" "));
        int command = words.indexOf("gpu-runtime/target/gpu-runtime.jar") + 1;
        List<String> args = new ArrayList<>(words.subList(command, words.size()));
        int outputDir = args.indexOf("--output-dir");
        if (outputDir >= 0) {
            args.set(outputDir + 1, dir.resolve(args.get(outputDir + 1)).toString());
        } else if (args.get(0).startsWith("eval-")) {
            args.addAll(List.of("--output-dir", dir.resolve(EVAL_DEFAULT_OUTPUT_DIR).toString()));
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(args.toArray(String[]::new), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(code).as(err.toString(StandardCharsets.UTF_8)).isZero();
        return out.toString(StandardCharsets.UTF_8);
    }
}
