// SwiGLU: out = silu(gate) · up, and its backward; by 16-byte packs where the pointers allow, with the same
// result as element by element.
#include "common.cuh"

__device__ __forceinline__ float swiglu(float g, float u) { return g / (1.f + __expf(-g)) * u; }

template <typename T>
__device__ void swiglu_forward(const T* __restrict__ gate, const T* __restrict__ up, T* __restrict__ out, long long n) {
  map_packs(n, swiglu, out, gate, up);
}
extern "C" __global__ void swiglu_forward_bf16(const bf16* g, const bf16* u, bf16* out, long long n) { swiglu_forward(g, u, out, n); }
extern "C" __global__ void swiglu_forward_f32(const float* g, const float* u, float* out, long long n) { swiglu_forward(g, u, out, n); }

// d silu(g)/dg = σ(g)·(1 + g·(1 − σ(g))).
__device__ __forceinline__ void swiglu_grads(float d, float g, float u, float& dg, float& du) {
  float s = 1.f / (1.f + __expf(-g));
  dg = d * u * s * (1.f + g * (1.f - s));
  du = d * g * s;
}

template <typename T>
__device__ void swiglu_backward(const T* __restrict__ dout, const T* __restrict__ gate, const T* __restrict__ up,
                                T* __restrict__ dgate, T* __restrict__ dup, long long n) {
  grid_stride_packs(
      n,
      [&](long long i) {
        float dg, du;
        swiglu_grads(load(dout + i), load(gate + i), load(up + i), dg, du);
        store(dgate + i, dg);
        store(dup + i, du);
      },
      [&](long long i) {
        Pack d = load_pack(dout + i), g = load_pack(gate + i), u = load_pack(up + i), dg, du;
#pragma unroll
        for (int k = 0; k < PACK; k++) swiglu_grads(d.v[k], g.v[k], u.v[k], dg.v[k], du.v[k]);
        store_pack(dgate + i, dg);
        store_pack(dup + i, du);
      },
      dout, gate, up, dgate, dup);
}
extern "C" __global__ void swiglu_backward_bf16(const bf16* d, const bf16* g, const bf16* u, bf16* dg, bf16* du, long long n) { swiglu_backward(d, g, u, dg, du, n); }
extern "C" __global__ void swiglu_backward_f32(const float* d, const float* g, const float* u, float* dg, float* du, long long n) { swiglu_backward(d, g, u, dg, du, n); }
