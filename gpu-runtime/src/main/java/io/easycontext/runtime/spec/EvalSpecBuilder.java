package io.easycontext.runtime.spec;

import io.easycontext.runtime.parallel.ParallelMode;

/**
 * What the builders of the {@link EvalSpec}s share: the fields every evaluation has, set alike in each. Fields left
 * unset are null, and take the command's defaults in the spec's constructor.
 *
 * @param <B> the evaluation's own builder, which every setter returns
 */
public abstract class EvalSpecBuilder<B extends EvalSpecBuilder<B>> {
    String model;
    String tokenizer;
    Double ropeTheta;
    String devices;
    ParallelMode parallelMode;
    Integer ulyssesDegree;
    Integer ringDegree;
    String dtype;
    Long seed;
    Boolean plot;

    EvalSpecBuilder() {
    }

    public B model(String v) { model = v; return self(); }
    public B tokenizer(String v) { tokenizer = v; return self(); }
    public B ropeTheta(Double v) { ropeTheta = v; return self(); }
    public B devices(String v) { devices = v; return self(); }
    public B parallelMode(ParallelMode v) { parallelMode = v; return self(); }
    public B ulyssesDegree(Integer v) { ulyssesDegree = v; return self(); }
    public B ringDegree(Integer v) { ringDegree = v; return self(); }
    public B dtype(String v) { dtype = v; return self(); }
    public B seed(Long v) { seed = v; return self(); }
    public B plot(Boolean v) { plot = v; return self(); }

    /** The spec as set. */
    public abstract EvalSpec build();

    @SuppressWarnings("unchecked")
    final B self() {
        return (B) this;
    }
}
