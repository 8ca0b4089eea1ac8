package io.easycontext.runtime.parallel;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.tensor.Tensor;

/**
 * Cuts attention tensors {@code [b, t, h, d]} into equal token ranges and puts them back. A token range is contiguous
 * only within one sequence of the batch, so a range of a batch is gathered with one copy per sequence; the blocks
 * then work on contiguous tensors as the backend requires. A single part is the tensor itself, without a copy.
 */
final class TokenChunks {

    private TokenChunks() {
    }

    /** {@code parts} tensors {@code [b, t/parts, h, d]} of unspecified contents, or {@code {x}} for one part. */
    static Tensor[] shaped(Scratch scratch, Tensor x, int parts) {
        if (parts == 1) {
            return new Tensor[] {x};
        }
        Tensor[] out = new Tensor[parts];
        for (int p = 0; p < parts; p++) {
            out[p] = scratch.allocate(x.dtype(), x.dim(0), x.dim(1) / parts, x.dim(2), x.dim(3));
        }
        return out;
    }

    /** {@code parts} tensors holding consecutive token ranges of {@code x}. */
    static Tensor[] split(Scratch scratch, Tensor x, int parts) {
        Tensor[] out = shaped(scratch, x, parts);
        if (parts > 1) {
            int len = out[0].dim(1);
            for (int p = 0; p < parts; p++) {
                copyRange(scratch.backend, x, p * len, out[p], 0, len);
            }
        }
        return out;
    }

    /** Writes the parts back as consecutive token ranges of {@code x}: the inverse of {@link #split}. */
    static void join(Backend backend, Tensor[] parts, Tensor x) {
        if (parts.length == 1) {
            if (parts[0] != x) {
                backend.copy(parts[0], x);
            }
            return;
        }
        int len = parts[0].dim(1);
        for (int p = 0; p < parts.length; p++) {
            copyRange(backend, parts[p], 0, x, p * len, len);
        }
    }

    /** Copies tokens {@code [from, from+len)} of {@code src} to tokens {@code [to, to+len)} of {@code dst}. */
    private static void copyRange(Backend backend, Tensor src, int from, Tensor dst, int to, int len) {
        int row = src.dim(2) * src.dim(3);
        for (int bi = 0; bi < src.dim(0); bi++) {
            Tensor s = backend.view(src, ((long) bi * src.dim(1) + from) * row, 1, len, src.dim(2), src.dim(3));
            Tensor d = backend.view(dst, ((long) bi * dst.dim(1) + to) * row, 1, len, dst.dim(2), dst.dim(3));
            backend.copy(s, d);
        }
    }
}
