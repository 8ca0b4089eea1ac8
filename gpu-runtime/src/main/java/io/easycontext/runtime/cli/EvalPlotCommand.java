package io.easycontext.runtime.cli;

import io.easycontext.runtime.eval.report.ResultFiles;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code eval-plot}: draws the plot of a results JSON that {@code eval-needle}, {@code eval-ppl} or {@code passkey}
 * wrote with {@code --plot false} (on the GPU machine, whose slim Java runtime has no AWT), beside it.
 */
public final class EvalPlotCommand implements Command {

    @Override
    public String name() {
        return "eval-plot";
    }

    @Override
    public String summary() {
        return "draw the heat map or perplexity plot of an evaluation's results JSON";
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) {
        Flags flags = new Flags(args);
        Path results = Path.of(flags.required("results"));
        flags.finish();
        if (!Files.isRegularFile(results)) {
            throw new Flags.UsageException("--results " + results + " is not a file");
        }
        out.println(Flags.usage(() -> ResultFiles.redraw(results)));
        return 0;
    }
}
