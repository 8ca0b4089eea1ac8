package io.easycontext.runtime.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.comm.RankDevices;
import io.easycontext.runtime.eval.needle.CellScore;
import io.easycontext.runtime.eval.needle.NeedleEvaluation;
import io.easycontext.runtime.eval.passkey.PasskeyRecipe;
import io.easycontext.runtime.eval.passkey.PasskeyRecipes;
import io.easycontext.runtime.eval.passkey.PasskeyStage;
import io.easycontext.runtime.eval.report.ResultFiles;
import io.easycontext.runtime.hf.HfModelWriter;
import io.easycontext.runtime.io.SafetensorsDType;
import io.easycontext.runtime.model.LlamaWeights;
import io.easycontext.runtime.parallel.ParallelConfig;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code passkey}: the progressive long-context recipe in miniature, as one command: train a small Llama from scratch
 * on passkey prompts, raise rope theta and train longer, then the needle test up to eight times the first length.
 * {@code --scale cpu} takes one to two minutes on two cores; {@code --scale gpu} is sized for one GPU
 * ({@code --devices cuda:0}). One JSON line per optimizer step and per test cell on stdout, then a summary.
 * {@code --save-model DIR} keeps the trained model in Hugging Face layout, for {@code eval-needle --template passkey}
 * and {@code eval-ppl}.
 */
public final class PasskeyCommand implements Command {

    @Override
    public String name() {
        return "passkey";
    }

    @Override
    public String summary() {
        return "train a small Llama on passkey retrieval in two stages (theta raised), then the needle test";
    }

    /** {@code --<name>-steps} and {@code --<name>-learning-rate} over a stage of the named recipe. */
    private static PasskeyStage stage(Flags flags, String name, PasskeyStage s) {
        int steps = flags.integer(name + "-steps", s.steps());
        double lr = flags.number(name + "-learning-rate", s.learningRate());
        return Flags.usage(() -> new PasskeyStage(s.seqLength(), s.ropeTheta(), steps, s.batchSize(), lr,
                s.warmupSteps()));
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) {
        Flags flags = new Flags(args);
        String scale = flags.string("scale", "cpu");
        long seed = flags.longValue("seed", 1);
        PasskeyRecipe named = Flags.usage(() -> PasskeyRecipes.named(scale, seed));
        // Each stage's length of training and rate may be overridden: a recipe tuned on one machine, tried on another.
        PasskeyRecipe recipe = named.withStages(
                stage(flags, "first", named.first()), stage(flags, "second", named.second()));
        RankDevices devices = EvalOptions.devices(flags);
        ParallelConfig parallel = EvalOptions.parallel(flags, devices, recipe.model());
        Path outputDir = Path.of(flags.string("output-dir", "eval-results"));
        String saveModel = flags.string("save-model", null);
        boolean plot = flags.bool("plot", true);
        flags.finish();

        err.printf(Locale.ROOT, "passkey (%s): %,d parameters on %s (%s); stage 1 %s, stage 2 %s%n", scale,
                recipe.model().parameterCount(), devices, parallel, recipe.first(), recipe.second());
        ObjectMapper json = new ObjectMapper();
        long start = System.nanoTime();
        List<CellScore> cells = devices.run((backend, world) -> recipe.run(devices, backend, world, parallel,
                new PasskeyRecipe.Listener() {
                    @Override
                    public void onStep(int stage, int step, double loss, double gradNorm) {
                        if (world.rank() == 0) {
                            Map<String, Object> m = new LinkedHashMap<>();
                            m.put("stage", stage);
                            m.put("step", step);
                            m.put("loss", loss);
                            m.put("grad_norm", gradNorm);
                            out.println(EvalOptions.json(json, m));
                        }
                    }

                    @Override
                    public void onTrained(Backend backend, LlamaWeights weights) throws IOException {
                        if (saveModel != null && world.rank() == 0) {
                            HfModelWriter.save(backend, weights, Path.of(saveModel), SafetensorsDType.F32,
                                    HfModelWriter.DEFAULT_MAX_SHARD_BYTES, null);
                            err.println("passkey: trained model saved to " + saveModel);
                        }
                    }

                    @Override
                    public void onCell(CellScore cell) {
                        if (world.rank() == 0) {
                            out.println(EvalNeedleCommand.cellJson(json, cell));
                        }
                    }
                })).get(0);

        int trained = recipe.haystackLength(recipe.second().seqLength());
        double average = NeedleEvaluation.averageAccuracy(cells);
        double atTrained = NeedleEvaluation.averageAccuracy(
                cells.stream().filter(c -> c.contextLength() == trained).toList());
        ResultFiles files = new ResultFiles(outputDir, "passkey-" + scale);
        Map<String, Object> settings = new LinkedHashMap<>();
        settings.put("recipe", scale);
        settings.put("devices", devices.toString());
        settings.put("parallel_mode", parallel.mode().cliName());
        settings.put("first_stage", recipe.first());
        settings.put("second_stage", recipe.second());
        settings.put("trained_context_length", trained);
        settings.put("accuracy_at_trained_length", atTrained);
        settings.putAll(recipe.test().describe());
        files.writeNeedle(settings, cells, String.format(Locale.ROOT,
                "Passkey (%s recipe): trained to %d haystack tokens, average accuracy %.1f%%", scale, trained,
                100 * average), plot);
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("average_accuracy", average);
        summary.put("trained_context_length", trained);
        summary.put("accuracy_at_trained_length", atTrained);
        if (plot) {
            summary.put("heatmap", files.png().toString());
        }
        out.println(EvalOptions.json(json, summary));
        err.printf(Locale.ROOT, "passkey: %.1f%% at the trained length %d, %.1f%% overall, in %.1f s; results %s%n",
                100 * atTrained, trained, 100 * average, (System.nanoTime() - start) / 1e9, files.json());
        return 0;
    }
}
