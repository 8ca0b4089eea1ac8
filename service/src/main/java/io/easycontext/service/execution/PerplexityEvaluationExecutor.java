package io.easycontext.service.execution;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import io.easycontext.runtime.data.Documents;
import io.easycontext.runtime.eval.ppl.PerplexityEvaluation;
import io.easycontext.runtime.eval.ppl.PerplexityPoint;
import io.easycontext.runtime.eval.report.ResultFiles;
import io.easycontext.runtime.eval.text.Haystack;
import io.easycontext.runtime.spec.PerplexityEvalSpec;
import io.easycontext.runtime.tokenizer.Tokenizer;
import io.easycontext.service.job.JobKind;
import io.easycontext.service.job.JobReason;
import org.springframework.stereotype.Component;

/**
 * EVAL_PERPLEXITY jobs, in process on the job's GPUs or the CPU backend, as {@code eval-ppl} runs them: every
 * length over every document, then the results' JSON, CSV and plot (unless {@code plot} is false) under
 * {@code eval-results/}. Progress counts lengths; a cancellation stops the evaluation between two lengths, and a
 * restart runs it again from the first.
 */
@Component
class PerplexityEvaluationExecutor implements JobExecutor {

    @Override
    public JobKind kind() {
        return JobKind.EVAL_PERPLEXITY;
    }

    @Override
    public boolean runsOnGpus() {
        return true;
    }

    @Override
    public String execute(JobExecution execution) {
        PerplexityEvalSpec spec = (PerplexityEvalSpec) execution.spec();
        EvalRun run = new EvalRun(spec);
        List<Integer> lengths = PerplexityEvaluation.lengths(spec.minTokens(), spec.maxTokens(), spec.tokensStep());
        EvaluationProgress progress = execution.evaluationProgress("lengths", lengths);
        progress.start();
        List<PerplexityPoint> points;
        try (Tokenizer tokenizer = run.openTokenizer()) {
            List<int[]> documents = EvalRun.readingData(() -> documents(spec, tokenizer));
            execution.log(String.format(Locale.ROOT, "perplexity of %s on %s: %d document(s), lengths %s, %s",
                    spec.model(), spec.devices(), documents.size(), lengths,
                    spec.truncate() ? "truncated" : "sliding window " + spec.slidingWindow()));
            PerplexityEvaluation evaluation = new PerplexityEvaluation(documents, spec.slidingWindow(),
                    spec.truncate(), tokenizer.bos());
            points = run.onRanks((model, leader) -> evaluation.run(model, lengths, point -> {
                if (leader) {
                    progress.unitDone(String.format(Locale.ROOT, "%d tokens: perplexity %.4f over %d windows",
                            point.contextLength(), point.perplexity(), point.windows()));
                }
            }));
        }
        ResultFiles files = run.resultFiles(execution.workDir(), "ppl");
        Map<String, Object> settings = new LinkedHashMap<>(run.describe());
        settings.put("dataset", spec.dataset() == null ? "built-in filler" : spec.dataset());
        settings.put("sliding_window", spec.slidingWindow());
        settings.put("truncate", spec.truncate());
        files.writePerplexity(settings, points, "Perplexity by context length: " + run.modelName(),
                run.modelName(), spec.plot());
        PerplexityPoint longest = points.get(points.size() - 1);
        return String.format(Locale.ROOT, "%d lengths; perplexity %.4f at %d tokens", points.size(),
                longest.perplexity(), longest.contextLength());
    }

    /**
     * As {@code eval-ppl} reads them: text encoded without special tokens (each window gets its own BOS), token
     * documents as given, those shorter than {@code datasetMinTokens} dropped, at most {@code samples} kept; without
     * a dataset, the built-in filler as one document of {@code maxTokens}.
     */
    private static List<int[]> documents(PerplexityEvalSpec spec, Tokenizer tokenizer) {
        if (spec.dataset() == null) {
            return List.of(Haystack.filler(tokenizer, spec.maxTokens()).prefix(spec.maxTokens()));
        }
        int samples = spec.samples() == null ? Integer.MAX_VALUE : spec.samples();
        List<int[]> documents = new ArrayList<>();
        Documents.read(Path.of(spec.dataset()), d -> {
            int[] ids = d.ids() != null ? d.ids() : tokenizer.encode(d.text());
            if (documents.size() < samples && ids.length >= spec.datasetMinTokens()) {
                documents.add(ids);
            }
        });
        if (documents.isEmpty()) {
            throw new JobFailedException(JobReason.INVALID_DATA, spec.dataset() + " has no document of at least "
                    + spec.datasetMinTokens() + " tokens");
        }
        return documents;
    }
}
