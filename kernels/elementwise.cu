// Conversions, fills and simple vector updates; bf16 or f32 storage, fp32 arithmetic, 16-byte packs where the
// pointers allow (map_packs), with the same result as element by element.
#include "common.cuh"

extern "C" __global__ void cast_f32_to_bf16(const float* __restrict__ in, bf16* __restrict__ out, long long n) {
  map_packs(n, [](float v) { return v; }, out, in);
}

extern "C" __global__ void cast_bf16_to_f32(const bf16* __restrict__ in, float* __restrict__ out, long long n) {
  map_packs(n, [](float v) { return v; }, out, in);
}

template <typename T>
__device__ void fill(T* x, float value, long long n) {
  map_packs(n, [=] { return value; }, x);
}
extern "C" __global__ void fill_bf16(bf16* x, float value, long long n) { fill(x, value, n); }
extern "C" __global__ void fill_f32(float* x, float value, long long n) { fill(x, value, n); }

template <typename T>
__device__ void scale(T* x, float alpha, long long n) {
  map_packs(n, [=](float v) { return alpha * v; }, x, x);
}
extern "C" __global__ void scale_bf16(bf16* x, float alpha, long long n) { scale(x, alpha, n); }
extern "C" __global__ void scale_f32(float* x, float alpha, long long n) { scale(x, alpha, n); }

// acc += alpha * x, rounded once to the accumulator's type.
template <typename A, typename X>
__device__ void add_scaled(A* __restrict__ acc, const X* __restrict__ x, float alpha, long long n) {
  map_packs(n, [=](float a, float v) { return a + alpha * v; }, acc, acc, x);
}
extern "C" __global__ void add_scaled_bf16(bf16* acc, const bf16* x, float alpha, long long n) { add_scaled(acc, x, alpha, n); }
extern "C" __global__ void add_scaled_f32_bf16(float* acc, const bf16* x, float alpha, long long n) { add_scaled(acc, x, alpha, n); }
extern "C" __global__ void add_scaled_f32(float* acc, const float* x, float alpha, long long n) { add_scaled(acc, x, alpha, n); }
extern "C" __global__ void add_scaled_bf16_f32(bf16* acc, const float* x, float alpha, long long n) { add_scaled(acc, x, alpha, n); }

// First stage of a sum of squares: one fp32 partial per block; a second launch with one block sums the partials.
template <typename T>
__device__ void sum_squares(const T* __restrict__ x, float* __restrict__ partials, long long n) {
  float s = 0.f;
  GRID_STRIDE_LOOP(i, n) { float v = load(x + i); s += v * v; }
  s = block_sum(s);
  if (threadIdx.x == 0) partials[blockIdx.x] = s;
}
extern "C" __global__ void sum_squares_bf16(const bf16* x, float* partials, long long n) { sum_squares(x, partials, n); }
extern "C" __global__ void sum_squares_f32(const float* x, float* partials, long long n) { sum_squares(x, partials, n); }

// Adds up n floats in one block (the second stage of the reductions above), into out[0].
extern "C" __global__ void sum_f32(const float* __restrict__ x, float* __restrict__ out, long long n) {
  float s = 0.f;
  for (long long i = threadIdx.x; i < n; i += blockDim.x) s += x[i];
  s = block_sum(s);
  if (threadIdx.x == 0) out[0] = s;
}
