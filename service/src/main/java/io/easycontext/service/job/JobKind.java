package io.easycontext.service.job;

import io.easycontext.runtime.spec.NeedleEvalSpec;
import io.easycontext.runtime.spec.PerplexityEvalSpec;
import io.easycontext.runtime.spec.RunSpec;
import io.easycontext.runtime.spec.TrainSpec;

/** What a job does; each kind has its spec type in the runtime's shared spec model. */
public enum JobKind {
    TRAIN(TrainSpec.class),
    EVAL_NEEDLE(NeedleEvalSpec.class),
    EVAL_PERPLEXITY(PerplexityEvalSpec.class);

    private final Class<? extends RunSpec> specType;

    JobKind(Class<? extends RunSpec> specType) {
        this.specType = specType;
    }

    /** The type a stored spec of this kind reads back as. */
    public Class<? extends RunSpec> specType() {
        return specType;
    }
}
