package io.easycontext.runtime.backend.cuda;

import io.easycontext.runtime.backend.AttentionMask;
import io.easycontext.runtime.tensor.DType;
import io.easycontext.runtime.tensor.Tensor;

import static io.easycontext.runtime.backend.cuda.CudaBackend.require;

/** The dimensions of one attention block, checked against what the kernels support. */
record AttentionShape(int batch, int tq, int tk, int hq, int hkv, int headDim) {

    static AttentionShape of(Tensor q, Tensor k, AttentionMask mask) {
        int[] qs = q.shape();
        int[] ks = k.shape();
        require(qs.length == 4 && ks.length == 4, "attention expects [batch, tokens, heads, headDim]: q %s, k %s", q, k);
        require(q.dtype() == DType.BF16 && k.dtype() == DType.BF16, "the CUDA attention kernels take bf16: q %s, k %s", q, k);
        AttentionShape s = new AttentionShape(qs[0], qs[1], ks[1], qs[2], ks[2], qs[3]);
        require(ks[0] == s.batch && ks[3] == s.headDim, "q %s and k %s disagree on batch or head dim", q, k);
        require(s.hq % s.hkv == 0, "query heads (%d) must be a multiple of kv heads (%d)", s.hq, s.hkv);
        require(s.headDim == 16 || s.headDim == 32 || s.headDim == 64 || s.headDim == 128,
                "the CUDA attention kernels support head dims 16, 32, 64 and 128, not %d", s.headDim);
        require(mask != AttentionMask.CAUSAL_DIAGONAL || s.tq == s.tk,
                "a causal diagonal block needs as many queries as keys: %d vs %d", s.tq, s.tk);
        return s;
    }
}
