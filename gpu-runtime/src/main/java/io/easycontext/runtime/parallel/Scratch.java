package io.easycontext.runtime.parallel;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * Tensors an attention op allocates for itself, released together: temporaries when a forward or backward returns,
 * and what a forward keeps for the backward when the model closes the {@link io.easycontext.runtime.model.AttentionState}.
 * Tensors the model passed in are never registered here, so they are never closed by a mode.
 */
final class Scratch implements AutoCloseable {
    final Backend backend;
    private final List<Tensor> tensors = new ArrayList<>();

    Scratch(Backend backend) {
        this.backend = backend;
    }

    Tensor allocate(DType dtype, int... shape) {
        Tensor t = backend.allocate(dtype, shape);
        tensors.add(t);
        return t;
    }

    Tensor like(Tensor t) {
        return allocate(t.dtype(), t.shape());
    }

    /** A tensor {@link #like} each of {@code tensors}, in their order. */
    Tensor[] likeAll(Tensor[] tensors) {
        Tensor[] out = new Tensor[tensors.length];
        for (int i = 0; i < tensors.length; i++) {
            out[i] = like(tensors[i]);
        }
        return out;
    }

    /** Closes {@code t} now, before the rest, where it is dead early enough to lower a peak. */
    void release(Tensor t) {
        if (!tensors.remove(t)) {
            throw new IllegalArgumentException("not this scratch's tensor: " + t);
        }
        t.close();
    }

    @Override
    public void close() {
        for (Tensor t : tensors) {
            t.close();
        }
        tensors.clear();
    }
}
