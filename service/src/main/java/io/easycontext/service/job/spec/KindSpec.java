package io.easycontext.service.job.spec;

/** The section of a {@link JobSpec} whose fields depend on the job's kind. */
public sealed interface KindSpec permits TrainSpec, NeedleEvalSpec, PerplexityEvalSpec {
}
