// Conversions and simple vector updates on bf16 storage with fp32 arithmetic.
#include "common.cuh"

extern "C" __global__ void cast_f32_to_bf16(const float* __restrict__ in, bf16* __restrict__ out, long long n) {
  GRID_STRIDE_LOOP(i, n) { out[i] = __float2bfloat16_rn(in[i]); }
}

extern "C" __global__ void cast_bf16_to_f32(const bf16* __restrict__ in, float* __restrict__ out, long long n) {
  GRID_STRIDE_LOOP(i, n) { out[i] = __bfloat162float(in[i]); }
}

// acc += alpha * x, rounded once to bf16.
extern "C" __global__ void add_scaled_bf16(bf16* __restrict__ acc, const bf16* __restrict__ x, float alpha, long long n) {
  GRID_STRIDE_LOOP(i, n) { acc[i] = __float2bfloat16_rn(__bfloat162float(acc[i]) + alpha * __bfloat162float(x[i])); }
}
