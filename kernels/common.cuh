// Shared by every kernel file: bf16 storage, fp32 arithmetic, grid-stride loops over 64-bit element counts,
// and typed load/store so one template serves bf16 and f32 tensors.
#pragma once
#include <cuda_bf16.h>

typedef __nv_bfloat16 bf16;

#define GRID_STRIDE_LOOP(i, n) \
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < (n); i += (long long)gridDim.x * blockDim.x)

__device__ __forceinline__ float load(const float* p) { return *p; }
__device__ __forceinline__ float load(const bf16* p) { return __bfloat162float(*p); }
__device__ __forceinline__ void store(float* p, float v) { *p = v; }
__device__ __forceinline__ void store(bf16* p, float v) { *p = __float2bfloat16_rn(v); }

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

struct Sum {
  static __device__ __forceinline__ float identity() { return 0.f; }
  static __device__ __forceinline__ float warp(float v) { return warp_sum(v); }
};
struct Max {
  static __device__ __forceinline__ float identity() { return -INFINITY; }
  static __device__ __forceinline__ float warp(float v) { return warp_max(v); }
};

// Reduces over a block whose size is a multiple of 32 (at most 1024); every thread gets the result. Each
// operation has its own shared scratch, so a sum may follow a max without a barrier in between.
template <typename Op>
__device__ __forceinline__ float block_reduce(float v) {
  __shared__ float partial[32];
  __shared__ float total;
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = Op::warp(v);
  __syncthreads();
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  if (warp == 0) {
    float s = lane < (blockDim.x >> 5) ? partial[lane] : Op::identity();
    s = Op::warp(s);
    if (lane == 0) total = s;
  }
  __syncthreads();
  return total;
}

__device__ __forceinline__ float block_sum(float v) { return block_reduce<Sum>(v); }
__device__ __forceinline__ float block_max(float v) { return block_reduce<Max>(v); }
