package io.easycontext.runtime.cli;

import java.io.PrintStream;
import java.util.List;

/** One sub-command of the runtime CLI. Machine-readable results go to {@code out}, human-readable logs to {@code err}. */
public interface Command {
    String name();

    /** One line for the usage text. */
    String summary();

    /** Returns the process exit code. */
    int run(List<String> args, PrintStream out, PrintStream err) throws Exception;
}
