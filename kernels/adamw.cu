// AdamW (decoupled weight decay, as torch.optim.AdamW) on fp32 master weights and moments; the bf16 parameter
// is the master rounded. Bias corrections are computed once on the host.
#include "common.cuh"

template <typename P, typename G>
__device__ void adamw(P* __restrict__ param, float* __restrict__ master, const G* __restrict__ grad,
                      float* __restrict__ m, float* __restrict__ v, float lr, float beta1, float beta2, float eps,
                      float weight_decay, float correction1, float correction2, float grad_scale, long long n) {
  GRID_STRIDE_LOOP(i, n) {
    float g = load(grad + i) * grad_scale;
    float mi = beta1 * m[i] + (1.f - beta1) * g;
    float vi = beta2 * v[i] + (1.f - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    float x = master ? master[i] : load(param + i);
    x -= lr * weight_decay * x;
    x -= lr * (mi / correction1) / (sqrtf(vi / correction2) + eps);
    if (master) master[i] = x;
    store(param + i, x);
  }
}
extern "C" __global__ void adamw_bf16_bf16(bf16* p, float* master, const bf16* g, float* m, float* v, float lr, float b1, float b2,
                                           float eps, float wd, float c1, float c2, float gs, long long n) {
  adamw(p, master, g, m, v, lr, b1, b2, eps, wd, c1, c2, gs, n);
}
extern "C" __global__ void adamw_bf16_f32(bf16* p, float* master, const float* g, float* m, float* v, float lr, float b1, float b2,
                                          float eps, float wd, float c1, float c2, float gs, long long n) {
  adamw(p, master, g, m, v, lr, b1, b2, eps, wd, c1, c2, gs, n);
}
extern "C" __global__ void adamw_f32_f32(float* p, float* master, const float* g, float* m, float* v, float lr, float b1, float b2,
                                         float eps, float wd, float c1, float c2, float gs, long long n) {
  adamw(p, master, g, m, v, lr, b1, b2, eps, wd, c1, c2, gs, n);
}
