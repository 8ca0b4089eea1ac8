package io.easycontext.runtime.model;

/**
 * What an {@link AttentionOp}'s forward keeps for its backward. The model passes it back unopened and closes it
 * once the backward has run (or at once, in a forward-only pass). The q, k, v and out tensors the model passed in
 * remain the model's; a mode whose state holds tensors of its own (lse, gathered heads) releases them in
 * {@link #close}, which matters on CUDA.
 */
public interface AttentionState extends AutoCloseable {
    @Override
    default void close() {
    }
}
