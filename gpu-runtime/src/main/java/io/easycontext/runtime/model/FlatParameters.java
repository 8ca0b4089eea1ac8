package io.easycontext.runtime.model;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * All parameters' values in one buffer and all their gradients in a twin buffer, as a {@link FlatLayout} places
 * them; each {@link Parameter}'s tensors are views into the two. The model reads and accumulates through the views
 * as it would through tensors of their own, while a sharded optimizer moves the gradients with one
 * {@code reduceScatter} and the updated values with one {@code allGather}, in place.
 */
public final class FlatParameters implements AutoCloseable {

    private final FlatLayout layout;
    private final Tensor values;
    private final Tensor grads;
    private final List<Parameter> parameters;

    private FlatParameters(FlatLayout layout, Tensor values, Tensor grads, List<Parameter> parameters) {
        this.layout = layout;
        this.values = values;
        this.grads = grads;
        this.parameters = List.copyOf(parameters);
    }

    /**
     * Both buffers in the backend's float type, zeroed: the gaps and the padding must hold zeros, which then stay
     * zero through every update. The parameters' values are for the caller to fill.
     */
    public static FlatParameters allocate(Backend backend, FlatLayout layout) {
        Tensor values = backend.zeros(backend.floatType(), layout.bufferShape());
        Tensor grads = backend.zeros(backend.floatType(), layout.bufferShape());
        List<Parameter> parameters = new ArrayList<>(layout.spans().size());
        for (FlatLayout.Span s : layout.spans()) {
            parameters.add(new Parameter(s.name(), backend.view(values, s.offset(), s.shape()),
                    backend.view(grads, s.offset(), s.shape())));
        }
        return new FlatParameters(layout, values, grads, parameters);
    }

    public FlatLayout layout() {
        return layout;
    }

    /** The whole value buffer, {@link FlatLayout#size()} elements. */
    public Tensor values() {
        return values;
    }

    /** The whole gradient buffer. */
    public Tensor grads() {
        return grads;
    }

    /** Every parameter, its value and gradient views into the buffers, in layout order. */
    public List<Parameter> parameters() {
        return parameters;
    }

    /** The values of shard {@code rank}: the part a sharded optimizer updates on that rank. */
    public Tensor valueShard(Backend backend, int rank) {
        return backend.view(values, layout.shardStart(rank), layout.shardShape());
    }

    /** The gradients of shard {@code rank}: where {@code reduceScatter} leaves that rank's sums, in place. */
    public Tensor gradShard(Backend backend, int rank) {
        return backend.view(grads, layout.shardStart(rank), layout.shardShape());
    }

    @Override
    public void close() {
        values.close();
        grads.close();
    }
}
