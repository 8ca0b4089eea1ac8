package io.easycontext.service.job.spec;

import io.easycontext.service.job.JobKind;
import jakarta.validation.Valid;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.PositiveOrZero;

/**
 * A request to run a job, e.g. {@code {"kind":"TRAIN","gpus":0,"train":{"model":"tiny",...}}}: the kind, and the
 * one section that kind reads. Each section is a plain typed property rather than one polymorphic {@code spec},
 * so that every error, Jackson's or Bean Validation's, comes with the full path of the field.
 *
 * @param priority higher runs first; 0 when left out
 * @param gpus how many GPUs the job needs; 0, the default, runs it on the CPU backend
 */
@SpecMatchesKind
public record JobSpec(
        @NotNull JobKind kind,
        Integer priority,
        @PositiveOrZero Integer gpus,
        @Valid TrainSpec train,
        @Valid NeedleEvalSpec evalNeedle,
        @Valid PerplexityEvalSpec evalPerplexity) {

    public JobSpec {
        priority = priority == null ? 0 : priority;
        gpus = gpus == null ? 0 : gpus;
    }

    /** The section that {@link #kind} reads; null only where the request left it out, which validation rejects. */
    public KindSpec spec() {
        return section(kind);
    }

    KindSpec section(JobKind sectionKind) {
        return switch (sectionKind) {
            case TRAIN -> train;
            case EVAL_NEEDLE -> evalNeedle;
            case EVAL_PERPLEXITY -> evalPerplexity;
        };
    }

    /** The JSON name of the section that a job of the given kind reads. */
    static String sectionName(JobKind sectionKind) {
        return switch (sectionKind) {
            case TRAIN -> "train";
            case EVAL_NEEDLE -> "evalNeedle";
            case EVAL_PERPLEXITY -> "evalPerplexity";
        };
    }
}
