package io.easycontext.service.job.spec;

import io.easycontext.runtime.spec.NeedleEvalSpec;
import io.easycontext.runtime.spec.PerplexityEvalSpec;
import io.easycontext.runtime.spec.RunSpec;
import io.easycontext.runtime.spec.TrainSpec;
import io.easycontext.service.job.JobKind;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.PositiveOrZero;

/**
 * A request to run a job, e.g. {@code {"kind":"TRAIN","gpus":0,"train":{"model":"tiny",...}}}: the kind, and the
 * one section that kind reads. Each section is a plain typed property rather than one polymorphic {@code spec},
 * so that every error, Jackson's or the spec's own, comes with the full path of the field. The sections are the
 * runtime's spec records, the ones its CLI builds from flags.
 *
 * @param priority higher runs first; 0 when left out
 * @param gpus how many GPUs the job needs, held exclusively while it runs; 0, the default, runs it on the CPU backend.
 *     The section's devices follow it: see {@link JobDevices} for how the two go together
 */
@SpecMatchesKind
@SectionIsValid
public record JobSpec(
        @NotNull JobKind kind,
        @Min(-1000) @Max(1000) Integer priority,
        @PositiveOrZero @Max(MAX_GPUS) Integer gpus,
        TrainSpec train,
        NeedleEvalSpec evalNeedle,
        PerplexityEvalSpec evalPerplexity) {

    /** More than any node has. */
    public static final int MAX_GPUS = 64;

    public JobSpec {
        priority = priority == null ? 0 : priority;
        gpus = gpus == null ? 0 : gpus;
        train = (TrainSpec) JobDevices.defaultedToGpus(train, gpus);
        evalNeedle = (NeedleEvalSpec) JobDevices.defaultedToGpus(evalNeedle, gpus);
        evalPerplexity = (PerplexityEvalSpec) JobDevices.defaultedToGpus(evalPerplexity, gpus);
    }

    /** The section that {@link #kind} reads; null only where the request left it out, which validation rejects. */
    public RunSpec spec() {
        return section(kind);
    }

    RunSpec section(JobKind sectionKind) {
        return switch (sectionKind) {
            case TRAIN -> train;
            case EVAL_NEEDLE -> evalNeedle;
            case EVAL_PERPLEXITY -> evalPerplexity;
        };
    }

    /** The JSON name of the section that a job of the given kind reads. */
    public static String sectionName(JobKind sectionKind) {
        return switch (sectionKind) {
            case TRAIN -> "train";
            case EVAL_NEEDLE -> "evalNeedle";
            case EVAL_PERPLEXITY -> "evalPerplexity";
        };
    }
}
