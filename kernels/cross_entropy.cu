// Cross-entropy fused with its gradient, in place over a chunk of logits: the [tokens × vocab] probabilities
// never exist beside the logits, and the loss needs no second pass.
#include "common.cuh"

// One block per row: logits[row] becomes (softmax − onehot(target)) · grad_scale, or zeros where the target is
// ignore_index; losses[row] gets −log softmax[target] (0 where ignored).
template <typename T>
__device__ void cross_entropy(T* __restrict__ logits, const int* __restrict__ targets, float* __restrict__ losses,
                              int vocab, int ignore_index, float grad_scale) {
  long long row = blockIdx.x;
  T* l = logits + row * vocab;
  int target = targets[row];
  if (target == ignore_index) {
    for (int j = threadIdx.x; j < vocab; j += blockDim.x) store(l + j, 0.f);
    if (threadIdx.x == 0) losses[row] = 0.f;
    return;
  }
  float m = -INFINITY;
  for (int j = threadIdx.x; j < vocab; j += blockDim.x) m = fmaxf(m, load(l + j));
  m = block_max(m);
  float s = 0.f;
  for (int j = threadIdx.x; j < vocab; j += blockDim.x) s += __expf(load(l + j) - m);
  s = block_sum(s);
  float target_logit = load(l + target);
  __syncthreads();  // everyone has read the target's logit before it is overwritten
  float inv = 1.f / s;
  for (int j = threadIdx.x; j < vocab; j += blockDim.x) {
    float p = __expf(load(l + j) - m) * inv;
    store(l + j, (p - (j == target ? 1.f : 0.f)) * grad_scale);
  }
  if (threadIdx.x == 0) losses[row] = logf(s) + m - target_logit;
}
extern "C" __global__ void cross_entropy_bf16(bf16* logits, const int* t, float* losses, int vocab, int ignore, float scale) {
  cross_entropy(logits, t, losses, vocab, ignore, scale);
}
extern "C" __global__ void cross_entropy_f32(float* logits, const int* t, float* losses, int vocab, int ignore, float scale) {
  cross_entropy(logits, t, losses, vocab, ignore, scale);
}
