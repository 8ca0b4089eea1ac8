// RMSNorm with Hugging Face Llama semantics: y = weight · (x / sqrt(mean(x²) + eps)), fp32 inside.
#include "common.cuh"

// One block per row. rstd[row] keeps 1/sqrt(mean(x²)+eps) for the backward.
template <typename T>
__device__ void rmsnorm_forward(const T* __restrict__ x, const T* __restrict__ w, T* __restrict__ out,
                                float* __restrict__ rstd, int hidden, float eps) {
  long long row = blockIdx.x;
  const T* xr = x + row * hidden;
  T* yr = out + row * hidden;
  float ss = 0.f;
  for (int j = threadIdx.x; j < hidden; j += blockDim.x) { float v = load(xr + j); ss += v * v; }
  ss = block_sum(ss);
  float r = rsqrtf(ss / hidden + eps);
  for (int j = threadIdx.x; j < hidden; j += blockDim.x) store(yr + j, load(xr + j) * r * load(w + j));
  if (threadIdx.x == 0) rstd[row] = r;
}
extern "C" __global__ void rmsnorm_forward_bf16(const bf16* x, const bf16* w, bf16* out, float* rstd, int hidden, float eps) {
  rmsnorm_forward(x, w, out, rstd, hidden, eps);
}
extern "C" __global__ void rmsnorm_forward_f32(const float* x, const float* w, float* out, float* rstd, int hidden, float eps) {
  rmsnorm_forward(x, w, out, rstd, hidden, eps);
}

// dx = rstd · (w⊙dy − x̂ · mean(w⊙dy⊙x̂)), x̂ = x·rstd; one block per row, dx overwritten.
template <typename T>
__device__ void rmsnorm_backward_dx(const T* __restrict__ dy, const T* __restrict__ x, const T* __restrict__ w,
                                    const float* __restrict__ rstd, T* __restrict__ dx, int hidden) {
  long long row = blockIdx.x;
  const T* dyr = dy + row * hidden;
  const T* xr = x + row * hidden;
  float r = rstd[row];
  float dot = 0.f;
  for (int j = threadIdx.x; j < hidden; j += blockDim.x) dot += load(dyr + j) * load(w + j) * load(xr + j) * r;
  dot = block_sum(dot) / hidden;
  for (int j = threadIdx.x; j < hidden; j += blockDim.x) {
    float xhat = load(xr + j) * r;
    store(dx + row * hidden + j, r * (load(dyr + j) * load(w + j) - xhat * dot));
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
