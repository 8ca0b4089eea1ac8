package io.easycontext.runtime.parallel;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.tensor.Tensor;

/**
 * Views of one sequence's token ranges in attention tensors. A rank's tokens are {@code parts} equal chunks, and a
 * chunk of one sequence is contiguous in {@code [b, t, h, d]}, so a block reads and writes it in place: no copy of
 * q, k, v, out or their gradients exists beside the model's (a chunk across the sequences of a batch would not be
 * contiguous, which is why blocks take one sequence at a time).
 */
final class TokenChunks {

    private TokenChunks() {
    }

    /** Chunk {@code part} of {@code parts} of sequence {@code b} of {@code x [b, t, h, d]}: {@code [1, t/parts, h, d]}. */
    static Tensor of(Backend backend, Tensor x, int b, int part, int parts) {
        return of(backend, x, b, part, 1, parts);
    }

    /** Chunks {@code [part, part + count)} of {@code parts}, adjacent in memory: {@code [1, count·t/parts, h, d]}. */
    static Tensor of(Backend backend, Tensor x, int b, int part, int count, int parts) {
        int len = x.dim(1) / parts;
        long row = (long) x.dim(2) * x.dim(3);
        return backend.view(x, ((long) b * x.dim(1) + (long) part * len) * row, 1, count * len, x.dim(2), x.dim(3));
    }

    /** Sequence {@code b} of a chunk's {@code lse [b, h, len]}: {@code [1, h, len]}. */
    static Tensor lseOf(Backend backend, Tensor lse, int b) {
        return backend.view(lse, (long) b * lse.dim(1) * lse.dim(2), 1, lse.dim(1), lse.dim(2));
    }
}
