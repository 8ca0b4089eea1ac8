package io.easycontext.runtime.optim.zero;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.tensor.Tensor;

/**
 * Where the values of a rank's shard live, range by range: the optimizer updates them in place there. Under ZeRO-1
 * and -3 the shard is one tensor of its own; under ZeRO-2 each unit's part of it lies inside the unit's buffer of
 * the whole model, whose all-gather then sends it in place.
 */
@FunctionalInterface
interface ShardValues {

    /**
     * Elements {@code [from, from + length)} of the shard; such a range never crosses a parameter's piece
     * ({@link ShardPiece}), so never two units.
     */
    Tensor range(long from, int length);

    /** A shard that is one tensor of its own: its ranges are views of {@code shard}. */
    static ShardValues in(Backend backend, Tensor shard) {
        return (from, length) -> backend.view(shard, from, length);
    }
}
