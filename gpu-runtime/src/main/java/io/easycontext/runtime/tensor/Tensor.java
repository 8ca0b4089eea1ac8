package io.easycontext.runtime.tensor;

/**
 * A dense, contiguous, row-major array owned by one {@link io.easycontext.runtime.backend.Backend}.
 * Tensors carry no autograd state: every op has an explicit forward and backward on the backend.
 */
public interface Tensor extends AutoCloseable {
    int[] shape();

    DType dtype();

    default long numel() {
        long n = 1;
        for (int d : shape()) {
            n *= d;
        }
        return n;
    }

    default int dim(int i) {
        int[] s = shape();
        return s[i < 0 ? s.length + i : i];
    }

    /** Releases the storage (a no-op for views and for garbage-collected CPU arrays). */
    @Override
    void close();
}
