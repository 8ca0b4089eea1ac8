package io.easycontext.service.job;

/** What a job does; each kind has its own spec type in {@code job.spec}. */
public enum JobKind {
    TRAIN,
    EVAL_NEEDLE,
    EVAL_PERPLEXITY
}
