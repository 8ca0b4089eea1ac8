// Shared by every kernel file: bf16 storage, fp32 arithmetic, grid-stride loops over 64-bit element counts,
// typed load/store so one template serves bf16 and f32 tensors, and their 16-byte pack versions.
#pragma once
#include <cuda_bf16.h>

typedef __nv_bfloat16 bf16;

#define GRID_STRIDE_LOOP(i, n) \
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < (n); i += (long long)gridDim.x * blockDim.x)

__device__ __forceinline__ float load(const float* p) { return *p; }
__device__ __forceinline__ float load(const bf16* p) { return __bfloat162float(*p); }
__device__ __forceinline__ void store(float* p, float v) { *p = v; }
__device__ __forceinline__ void store(bf16* p, float v) { *p = __float2bfloat16_rn(v); }

// ---- 16-byte packs ----------------------------------------------------------------------------------------
// Memory-bound kernels move 16 bytes per load and store where their pointers allow: a pack of PACK elements, one
// uint4 of bf16 or two float4 of f32, converted to and from fp32 exactly as load and store convert one element.
constexpr int PACK = 8;
struct Pack { float v[PACK]; };

__device__ __forceinline__ Pack load_pack(const bf16* p) {
  uint4 raw = *reinterpret_cast<const uint4*>(p);
  const __nv_bfloat162* h = reinterpret_cast<const __nv_bfloat162*>(&raw);
  Pack r;
#pragma unroll
  for (int k = 0; k < PACK / 2; k++) {
    float2 f = __bfloat1622float2(h[k]);
    r.v[2 * k] = f.x;
    r.v[2 * k + 1] = f.y;
  }
  return r;
}
__device__ __forceinline__ Pack load_pack(const float* p) {
  float4 a = reinterpret_cast<const float4*>(p)[0], b = reinterpret_cast<const float4*>(p)[1];
  return Pack{{a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w}};
}
// Round to nearest even per element, as store does (cvt.rn.bf16x2.f32 rounds each half as cvt.rn.bf16.f32).
__device__ __forceinline__ void store_pack(bf16* p, const Pack& r) {
  uint4 raw;
  __nv_bfloat162* h = reinterpret_cast<__nv_bfloat162*>(&raw);
#pragma unroll
  for (int k = 0; k < PACK / 2; k++) h[k] = __floats2bfloat162_rn(r.v[2 * k], r.v[2 * k + 1]);
  *reinterpret_cast<uint4*>(p) = raw;
}
__device__ __forceinline__ void store_pack(float* p, const Pack& r) {
  reinterpret_cast<float4*>(p)[0] = make_float4(r.v[0], r.v[1], r.v[2], r.v[3]);
  reinterpret_cast<float4*>(p)[1] = make_float4(r.v[4], r.v[5], r.v[6], r.v[7]);
}

// op applied to the packs element by element: the same fp32 arithmetic as on single elements.
template <typename Op, typename... P>
__device__ __forceinline__ Pack apply_pack(Op op, const P&... x) {
  Pack r;
#pragma unroll
  for (int k = 0; k < PACK; k++) r.v[k] = op(x.v[k]...);
  return r;
}

// Whether every pointer is 16-byte aligned (a pack may start there).
template <typename... Ts>
__device__ __forceinline__ bool aligned16(const Ts*... p) {
  return (... && (reinterpret_cast<unsigned long long>(p) % 16 == 0));
}

// Elements before the first index at which every pointer is 16-byte aligned. A pack is a multiple of 16 bytes in
// each element type, so alignment repeats every PACK elements: with none in [0, PACK) there is none at all (views at
// offsets that differ modulo a pack), and the answer is n, every element scalar.
template <typename... Ts>
__device__ __forceinline__ long long pack_head(long long n, const Ts*... p) {
  for (int h = 0; h < PACK; h++)
    if (aligned16(p + h...)) return h < n ? h : n;
  return n;
}

// A grid-stride loop over n elements, by packs where the pointers allow: pack(i) for each pack from element i on,
// scalar(i) for the elements before the first aligned pack and after the last whole one (all of them when the
// pointers cannot be aligned together). Both must compute an element alike, so the split never changes a result.
template <typename Scalar, typename PackOp, typename... Ts>
__device__ __forceinline__ void grid_stride_packs(long long n, Scalar scalar, PackOp pack, const Ts*... p) {
  long long head = pack_head(n, p...);
  long long packs = (n - head) / PACK, end = head + packs * PACK;
  GRID_STRIDE_LOOP(q, packs) pack(head + q * PACK);
  GRID_STRIDE_LOOP(k, head + (n - end)) scalar(k < head ? k : end + (k - head));
}

// out[i] = op(in[i]...) for i < n (out may be one of the inputs), by packs where the pointers allow.
template <typename Op, typename O, typename... I>
__device__ __forceinline__ void map_packs(long long n, Op op, O* out, const I*... in) {
  grid_stride_packs(
      n, [&](long long i) { store(out + i, op(load(in + i)...)); },
      [&](long long i) { store_pack(out + i, apply_pack(op, load_pack(in + i)...)); }, out, in...);
}

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
