package io.easycontext.runtime.model;

/**
 * How a training step reaches its parameters, unit by unit (the embedding, each decoder layer, the final norm, the
 * output projection; see {@link UnitLayout}). {@link LlamaModel#forwardBackward} announces each unit before it reads
 * the unit's values ({@link #gather}) or accumulates into its gradients ({@link #gradients}), and once it is done
 * ({@link #release}, {@link #reduce}); it reaches the parameters only through {@link #embedding()},
 * {@link #layer(int)}, {@link #norm()} and {@link #lmHead()} in between.
 *
 * <p>Where every rank holds every parameter and gradient ({@link #resident}) the announcements do nothing. Under
 * ZeRO-2 a unit's gradients live in a buffer of the unit's size from {@link #gradients} to {@link #reduce}, which
 * reduce-scatters them into each rank's gradient shard; under ZeRO-3 a unit's values exist on a rank only from
 * {@link #gather} (an all-gather of the ranks' shards, started early by {@link #prefetch}) to {@link #release}. A
 * parameter's value or gradient read outside those windows is null. Every rank must make the same calls in the same
 * order: they are collective.
 */
public interface ParameterUnits {

    int embeddingUnit();

    int layerUnit(int layer);

    int normUnit();

    /** The embedding's unit where the two are tied. */
    int lmHeadUnit();

    /** Makes the unit's values readable until {@link #release}; waits for a {@link #prefetch} of it. */
    void gather(int unit);

    /** Starts gathering a unit that a later {@link #gather} will ask for, if the communicator can overlap it. */
    void prefetch(int unit);

    /** The unit's values are not read again until the next {@link #gather}. */
    void release(int unit);

    /** Makes the unit's gradients accumulable until {@link #reduce}; the first call of a step sees them at zero. */
    void gradients(int unit);

    /** The step's backward accumulates nothing more into the unit's gradients on this micro-batch. */
    void reduce(int unit);

    Parameter embedding();

    LlamaWeights.Layer layer(int l);

    Parameter norm();

    Parameter lmHead();

    /** Every parameter resident, as {@code weights} holds it: the announcements do nothing. */
    static ParameterUnits resident(LlamaWeights weights) {
        int layers = weights.config().numHiddenLayers();
        boolean tied = weights.config().tieWordEmbeddings();
        return new ParameterUnits() {
            @Override
            public int embeddingUnit() {
                return 0;
            }

            @Override
            public int layerUnit(int layer) {
                return 1 + layer;
            }

            @Override
            public int normUnit() {
                return 1 + layers;
            }

            @Override
            public int lmHeadUnit() {
                return tied ? 0 : 2 + layers;
            }

            @Override
            public void gather(int unit) {
            }

            @Override
            public void prefetch(int unit) {
            }

            @Override
            public void release(int unit) {
            }

            @Override
            public void gradients(int unit) {
            }

            @Override
            public void reduce(int unit) {
            }

            @Override
            public Parameter embedding() {
                return weights.embedding();
            }

            @Override
            public LlamaWeights.Layer layer(int l) {
                return weights.layer(l);
            }

            @Override
            public Parameter norm() {
                return weights.norm();
            }

            @Override
            public Parameter lmHead() {
                return weights.lmHead();
            }
        };
    }
}
