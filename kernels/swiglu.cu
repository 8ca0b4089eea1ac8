// SwiGLU: out = silu(gate) · up, and its backward.
#include "common.cuh"

template <typename T>
__device__ void swiglu_forward(const T* __restrict__ gate, const T* __restrict__ up, T* __restrict__ out, long long n) {
  GRID_STRIDE_LOOP(i, n) {
    float g = load(gate + i);
    store(out + i, g / (1.f + __expf(-g)) * load(up + i));
  }
}
extern "C" __global__ void swiglu_forward_bf16(const bf16* g, const bf16* u, bf16* out, long long n) { swiglu_forward(g, u, out, n); }
extern "C" __global__ void swiglu_forward_f32(const float* g, const float* u, float* out, long long n) { swiglu_forward(g, u, out, n); }

// d silu(g)/dg = σ(g)·(1 + g·(1 − σ(g))).
template <typename T>
__device__ void swiglu_backward(const T* __restrict__ dout, const T* __restrict__ gate, const T* __restrict__ up,
                                T* __restrict__ dgate, T* __restrict__ dup, long long n) {
  GRID_STRIDE_LOOP(i, n) {
    float g = load(gate + i), u = load(up + i), d = load(dout + i);
    float s = 1.f / (1.f + __expf(-g));
    store(dgate + i, d * u * s * (1.f + g * (1.f - s)));
    store(dup + i, d * g * s);
  }
}
extern "C" __global__ void swiglu_backward_bf16(const bf16* d, const bf16* g, const bf16* u, bf16* dg, bf16* du, long long n) { swiglu_backward(d, g, u, dg, du, n); }
extern "C" __global__ void swiglu_backward_f32(const float* d, const float* g, const float* u, float* dg, float* du, long long n) { swiglu_backward(d, g, u, dg, du, n); }
