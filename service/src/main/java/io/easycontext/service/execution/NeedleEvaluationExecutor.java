package io.easycontext.service.execution;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import io.easycontext.runtime.eval.needle.CellScore;
import io.easycontext.runtime.eval.needle.NeedleEvaluation;
import io.easycontext.runtime.eval.needle.NeedleGrid;
import io.easycontext.runtime.eval.needle.NeedleSettings;
import io.easycontext.runtime.eval.needle.NeedleTemplate;
import io.easycontext.runtime.eval.report.ResultFiles;
import io.easycontext.runtime.spec.NeedleEvalSpec;
import io.easycontext.runtime.tokenizer.Tokenizer;
import io.easycontext.service.job.JobKind;
import org.springframework.stereotype.Component;

/**
 * EVAL_NEEDLE jobs, in process on the job's GPUs or the CPU backend, as {@code eval-needle} runs them: every cell
 * of the grid, then the results' JSON, CSV and heat map (unless {@code plot} is false) under {@code eval-results/}.
 * Progress counts cells; a cancellation stops the test between two cells. A restart runs the test again from its
 * first cell: cells are cheap next to a training step, and a half-done grid has no file to resume from.
 */
@Component
class NeedleEvaluationExecutor implements JobExecutor {

    @Override
    public JobKind kind() {
        return JobKind.EVAL_NEEDLE;
    }

    @Override
    public boolean runsOnGpus() {
        return true;
    }

    @Override
    public String execute(JobExecution execution) {
        NeedleEvalSpec spec = (NeedleEvalSpec) execution.spec();
        EvalRun run = new EvalRun(spec);
        NeedleGrid grid = new NeedleGrid(spec.minContextLength(), spec.maxContextLength(), spec.contextInterval(),
                spec.depthInterval());
        NeedleSettings settings = new NeedleSettings(grid, spec.numSamples(), spec.rndNumberDigits(),
                spec.numDistractor(), spec.haystackDir() == null ? null : Path.of(spec.haystackDir()),
                NeedleTemplate.named(spec.template()), spec.seed());
        // Lengths outermost, as the evaluation goes through the grid.
        List<Integer> cellLengths = grid.lengths().stream()
                .flatMap(length -> grid.depths().stream().map(depth -> length)).toList();
        EvaluationProgress progress = execution.evaluationProgress("cells", cellLengths);
        execution.log(String.format(Locale.ROOT, "needle test of %s on %s: lengths %s, depths %s, %d sample(s) per cell",
                spec.model(), spec.devices(), grid.lengths(), grid.depths(), spec.numSamples()));
        progress.start();
        List<CellScore> cells;
        try (Tokenizer tokenizer = run.openTokenizer()) {
            NeedleEvaluation evaluation = EvalRun.readingData(() -> settings.evaluation(tokenizer));
            cells = run.onRanks((model, leader) -> evaluation.run(model, cell -> {
                if (leader) {
                    progress.unitDone(String.format(Locale.ROOT, "%d tokens, depth %d%%: score %.2f",
                            cell.contextLength(), cell.depthPercent(), cell.score()));
                }
            }));
        }
        double average = NeedleEvaluation.averageAccuracy(cells);
        ResultFiles files = run.resultFiles(execution.workDir(), "needle");
        Map<String, Object> settingsByFlag = new LinkedHashMap<>(run.describe());
        settingsByFlag.putAll(settings.describe());
        files.writeNeedle(settingsByFlag, cells, String.format(Locale.ROOT,
                "Needle in a haystack: %s, average accuracy %.1f%%", run.modelName(), 100 * average), spec.plot());
        return String.format(Locale.ROOT, "%d cells; average accuracy %.4f", cells.size(), average);
    }
}
