package io.easycontext.runtime.model;

import io.easycontext.runtime.tensor.Tensor;

/** A trainable tensor under its Hugging Face name, with the gradient that backward passes accumulate into. */
public record Parameter(String name, Tensor value, Tensor grad) {

    /** Matrices decay; vectors (the norms' gains) do not, as in Hugging Face's Trainer. */
    public boolean decays() {
        return value.shape().length >= 2;
    }
}
