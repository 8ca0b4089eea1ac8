// AdamW (decoupled weight decay, as torch.optim.AdamW) on fp32 master weights; the bf16 parameter is the master
// rounded. The moments are fp32 or, in the _mbf16 variants (--optimizer-moments bf16), bf16: loaded and stored
// through the typed helpers, rounded to nearest even when stored, the arithmetic fp32 either way. The weight is
// moved by the moments as stored (rounded), as PyTorch's AdamW on bf16 moments and the CPU reference do. Bias
// corrections are computed once on the host.
#include "common.cuh"

// A value as it reads back after being stored in M's type.
__device__ __forceinline__ float as_stored(const float*, float v) { return v; }
__device__ __forceinline__ float as_stored(const bf16*, float v) { return __bfloat162float(__float2bfloat16_rn(v)); }

template <typename P, typename G, typename M>
__device__ void adamw(P* __restrict__ param, float* __restrict__ master, const G* __restrict__ grad,
                      M* __restrict__ m, M* __restrict__ v, float lr, float beta1, float beta2, float eps,
                      float weight_decay, float correction1, float correction2, float grad_scale, long long n) {
  GRID_STRIDE_LOOP(i, n) {
    float g = load(grad + i) * grad_scale;
    float mi = as_stored(m, beta1 * load(m + i) + (1.f - beta1) * g);
    float vi = as_stored(v, beta2 * load(v + i) + (1.f - beta2) * g * g);
    store(m + i, mi);
    store(v + i, vi);
    float x = master ? master[i] : load(param + i);
    x -= lr * weight_decay * x;
    x -= lr * (mi / correction1) / (sqrtf(vi / correction2) + eps);
    if (master) master[i] = x;
    store(param + i, x);
  }
}

#define ADAMW_KERNEL(NAME, P, G, M)                                                                                  \
  extern "C" __global__ void NAME(P* p, float* master, const G* g, M* m, M* v, float lr, float b1, float b2,        \
                                  float eps, float wd, float c1, float c2, float gs, long long n) {                  \
    adamw(p, master, g, m, v, lr, b1, b2, eps, wd, c1, c2, gs, n);                                                   \
  }

// fp32 moments: adamw_<param>_<grad>.
ADAMW_KERNEL(adamw_bf16_bf16, bf16, bf16, float)
ADAMW_KERNEL(adamw_bf16_f32, bf16, float, float)
ADAMW_KERNEL(adamw_f32_f32, float, float, float)
// bf16 moments: adamw_<param>_<grad>_mbf16.
ADAMW_KERNEL(adamw_bf16_bf16_mbf16, bf16, bf16, bf16)
ADAMW_KERNEL(adamw_bf16_f32_mbf16, bf16, float, bf16)
ADAMW_KERNEL(adamw_f32_f32_mbf16, float, float, bf16)
