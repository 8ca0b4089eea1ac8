// Shared by every kernel file: bf16 storage, fp32 arithmetic, grid-stride loops over 64-bit element counts.
#pragma once
#include <cuda_bf16.h>

typedef __nv_bfloat16 bf16;

#define GRID_STRIDE_LOOP(i, n) \
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < (n); i += (long long)gridDim.x * blockDim.x)
