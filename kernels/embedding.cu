// Token embedding: a gather forward, a scatter-add backward.
#include "common.cuh"

// out[i, :] = weight[ids[i], :]; one block per token.
template <typename T>
__device__ void embedding_forward(const T* __restrict__ weight, const int* __restrict__ ids, T* __restrict__ out,
                                  int hidden) {
  long long row = blockIdx.x;
  const T* src = weight + (long long)ids[row] * hidden;
  T* dst = out + row * hidden;
  for (int j = threadIdx.x; j < hidden; j += blockDim.x) dst[j] = src[j];
}
extern "C" __global__ void embedding_forward_bf16(const bf16* w, const int* ids, bf16* out, int hidden) { embedding_forward(w, ids, out, hidden); }
extern "C" __global__ void embedding_forward_f32(const float* w, const int* ids, float* out, int hidden) { embedding_forward(w, ids, out, hidden); }

// dweight[ids[i], :] += dout[i, :]. Repeated ids make this a scatter with collisions: fp32 atomics into an
// fp32 gradient. (bf16 gradients go through an fp32 scratch that the host adds in afterwards.)
extern "C" __global__ void embedding_backward_f32(const bf16* __restrict__ dout, const int* __restrict__ ids,
                                                  float* __restrict__ dweight, int hidden) {
  long long row = blockIdx.x;
  const bf16* src = dout + row * hidden;
  float* dst = dweight + (long long)ids[row] * hidden;
  for (int j = threadIdx.x; j < hidden; j += blockDim.x) atomicAdd(dst + j, __bfloat162float(src[j]));
}

extern "C" __global__ void embedding_backward_f32_f32(const float* __restrict__ dout, const int* __restrict__ ids,
                                                      float* __restrict__ dweight, int hidden) {
  long long row = blockIdx.x;
  const float* src = dout + row * hidden;
  float* dst = dweight + (long long)ids[row] * hidden;
  for (int j = threadIdx.x; j < hidden; j += blockDim.x) atomicAdd(dst + j, src[j]);
}
