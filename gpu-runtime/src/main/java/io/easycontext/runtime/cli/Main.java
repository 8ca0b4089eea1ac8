package io.easycontext.runtime.cli;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code java -jar gpu-runtime.jar <command> [flags]}. */
public final class Main {

    private Main() {
    }

    /** Every command, in the order the usage text lists them. */
    static Map<String, Command> commands() {
        Map<String, Command> all = new LinkedHashMap<>();
        for (Command c : List.<Command>of(new InfoCommand(), new BenchCommand(), new TrainCommand(), new PlanCommand(),
                new TokenizeCommand(), new ExportCommand(), new LogitsCommand(),
                new EvalNeedleCommand(),
                new EvalPplCommand(),
                new PasskeyCommand(),
                new EvalPlotCommand())) {
            all.put(c.name(), c);
        }
        return all;
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    public static int run(String[] args, PrintStream out, PrintStream err) {
        Map<String, Command> commands = commands();
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h") || args[0].equals("help")) {
            usage(commands, args.length == 0 ? err : out);
            return args.length == 0 ? 2 : 0;
        }
        Command command = commands.get(args[0]);
        if (command == null) {
            err.println("unknown command '" + args[0] + "'");
            usage(commands, err);
            return 2;
        }
        try {
            return command.run(List.of(args).subList(1, args.length), out, err);
        } catch (Flags.UsageException e) {
            err.println(command.name() + ": " + e.getMessage());
            return 2;
        } catch (Exception e) {
            err.println(command.name() + " failed: " + e.getMessage());
            e.printStackTrace(err);
            return 1;
        }
    }

    private static void usage(Map<String, Command> commands, PrintStream to) {
        to.println("usage: gpu-runtime <command> [flags]");
        for (Command c : commands.values()) {
            to.printf("  %-12s %s%n", c.name(), c.summary());
        }
    }
}
