// RMSNorm with Hugging Face Llama semantics: y = weight · (x / sqrt(mean(x²) + eps)), fp32 inside.
#include "common.cuh"

// Rows staged in shared memory: where the launch gave room for them (the CUDA backend does when they fit) and every
// row starts on a 16-byte boundary, a block first copies its rows there in 16-byte pieces. The sums then read them
// there, each thread the elements j ≡ threadIdx.x (mod blockDim.x) in order as it does straight from global memory,
// so both paths give the same bits; the elementwise pass reads and writes by packs.
extern __shared__ uint4 staged[];

// Whether `rows` rows of T fit the launch's dynamic shared memory, and every row of a 16-byte aligned tensor is too.
template <typename T>
__device__ __forceinline__ bool can_stage(int rows, int hidden) {
  unsigned bytes;
  asm("mov.u32 %0, %%dynamic_smem_size;" : "=r"(bytes));
  return hidden % PACK == 0 && (unsigned long long)rows * hidden * sizeof(T) <= bytes;
}

// Copies one row into staged[] from element `slot · hidden` on, by the whole block; the caller syncs before reading.
template <typename T>
__device__ __forceinline__ const T* stage(const T* row, int hidden, int slot) {
  int pieces = hidden * (int)sizeof(T) / 16;
  uint4* to = staged + slot * pieces;
  for (int q = threadIdx.x; q < pieces; q += blockDim.x) to[q] = reinterpret_cast<const uint4*>(row)[q];
  return reinterpret_cast<const T*>(to);
}

// One block per row. rstd[row] keeps 1/sqrt(mean(x²)+eps) for the backward.
template <typename T>
__device__ void rmsnorm_forward(const T* __restrict__ x, const T* __restrict__ w, T* __restrict__ out,
                                float* __restrict__ rstd, int hidden, float eps) {
  long long row = blockIdx.x;
  const T* xr = x + row * hidden;
  T* yr = out + row * hidden;
  float ss = 0.f, r;
  if (can_stage<T>(1, hidden) && aligned16(x, w, out)) {
    const T* xs = stage(xr, hidden, 0);
    __syncthreads();
    for (int j = threadIdx.x; j < hidden; j += blockDim.x) { float v = load(xs + j); ss += v * v; }
    ss = block_sum(ss);
    r = rsqrtf(ss / hidden + eps);
    auto y = [=](float xv, float wv) { return xv * r * wv; };
    for (int j = threadIdx.x * PACK; j < hidden; j += blockDim.x * PACK)
      store_pack(yr + j, apply_pack(y, load_pack(xs + j), load_pack(w + j)));
  } else {
    for (int j = threadIdx.x; j < hidden; j += blockDim.x) { float v = load(xr + j); ss += v * v; }
    ss = block_sum(ss);
    r = rsqrtf(ss / hidden + eps);
    for (int j = threadIdx.x; j < hidden; j += blockDim.x) store(yr + j, load(xr + j) * r * load(w + j));
  }
  if (threadIdx.x == 0) rstd[row] = r;
}
extern "C" __global__ void rmsnorm_forward_bf16(const bf16* x, const bf16* w, bf16* out, float* rstd, int hidden, float eps) {
  rmsnorm_forward(x, w, out, rstd, hidden, eps);
}
extern "C" __global__ void rmsnorm_forward_f32(const float* x, const float* w, float* out, float* rstd, int hidden, float eps) {
  rmsnorm_forward(x, w, out, rstd, hidden, eps);
}

// dx = rstd · (w⊙dy − x̂ · mean(w⊙dy⊙x̂)), x̂ = x·rstd; one block per row, dx overwritten. dy's and x's rows are
// staged where they fit, as in the forward.
template <typename T>
__device__ void rmsnorm_backward_dx(const T* __restrict__ dy, const T* __restrict__ x, const T* __restrict__ w,
                                    const float* __restrict__ rstd, T* __restrict__ dx, int hidden) {
  long long row = blockIdx.x;
  const T* dyr = dy + row * hidden;
  const T* xr = x + row * hidden;
  T* dxr = dx + row * hidden;
  float r = rstd[row];
  float dot = 0.f;
  // dy·w − x̂·dot pinned as the fused multiply-add the compiler made of it before, so neither path nor the JIT can
  // choose another.
  auto grad = [&](float dyv, float xv, float wv) {
    float xhat = xv * r;
    return r * __fmaf_rn(dyv, wv, -__fmul_rn(xhat, dot));
  };
  if (can_stage<T>(2, hidden) && aligned16(dy, x, w, dx)) {
    const T* dys = stage(dyr, hidden, 0);
    const T* xs = stage(xr, hidden, 1);
    __syncthreads();
    for (int j = threadIdx.x; j < hidden; j += blockDim.x) dot += load(dys + j) * load(w + j) * load(xs + j) * r;
    dot = block_sum(dot) / hidden;
    for (int j = threadIdx.x * PACK; j < hidden; j += blockDim.x * PACK)
      store_pack(dxr + j, apply_pack(grad, load_pack(dys + j), load_pack(xs + j), load_pack(w + j)));
  } else {
    for (int j = threadIdx.x; j < hidden; j += blockDim.x) dot += load(dyr + j) * load(w + j) * load(xr + j) * r;
    dot = block_sum(dot) / hidden;
    for (int j = threadIdx.x; j < hidden; j += blockDim.x) store(dxr + j, grad(load(dyr + j), load(xr + j), load(w + j)));
  }
}
extern "C" __global__ void rmsnorm_backward_dx_bf16(const bf16* dy, const bf16* x, const bf16* w, const float* rstd, bf16* dx, int hidden) {
  rmsnorm_backward_dx(dy, x, w, rstd, dx, hidden);
}
extern "C" __global__ void rmsnorm_backward_dx_f32(const float* dy, const float* x, const float* w, const float* rstd, float* dx, int hidden) {
  rmsnorm_backward_dx(dy, x, w, rstd, dx, hidden);
}

// dw_scratch[j] += Σ_rows dy·x̂ over this block's rows: grid (columns / blockDim, row chunks), fp32 atomics.
template <typename T>
__device__ void rmsnorm_backward_dw(const T* __restrict__ dy, const T* __restrict__ x, const float* __restrict__ rstd,
                                    float* __restrict__ dw, long long rows, int hidden, int rows_per_block) {
  int j = blockIdx.x * blockDim.x + threadIdx.x;
  if (j >= hidden) return;
  long long r0 = (long long)blockIdx.y * rows_per_block;
  long long r1 = min(rows, r0 + rows_per_block);
  float s = 0.f;
  for (long long r = r0; r < r1; r++) s += load(dy + r * hidden + j) * load(x + r * hidden + j) * rstd[r];
  atomicAdd(dw + j, s);
}
extern "C" __global__ void rmsnorm_backward_dw_bf16(const bf16* dy, const bf16* x, const float* rstd, float* dw, long long rows, int hidden, int rpb) {
  rmsnorm_backward_dw(dy, x, rstd, dw, rows, hidden, rpb);
}
extern "C" __global__ void rmsnorm_backward_dw_f32(const float* dy, const float* x, const float* rstd, float* dw, long long rows, int hidden, int rpb) {
  rmsnorm_backward_dw(dy, x, rstd, dw, rows, hidden, rpb);
}
