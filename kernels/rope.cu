// Rotary embedding in Hugging Face's rotate-half layout, by each token's global position; the inverse rotation
// (negative angle) is the backward. In place is allowed: each thread reads its pair before writing it.
#include "common.cuh"

// x, out [b·t, heads, d]; positions [b·t]; inv_freq [d/2]; one thread per (token, head, pair).
template <typename T>
__device__ void rope(const T* x, const int* __restrict__ positions, const float* __restrict__ inv_freq,
                     T* out, long long tokens, int heads, int d, float sign) {
  int half = d / 2;
  long long n = tokens * heads * half;
  GRID_STRIDE_LOOP(i, n) {
    int j = (int)(i % half);
    long long th = i / half;        // token·heads + head
    long long token = th / heads;
    // As Hugging Face: the angle in fp32 from an fp32 position and inverse frequency.
    float angle = (float)positions[token] * inv_freq[j];
    float s, c;
    sincosf(angle, &s, &c);
    s *= sign;
    long long base = th * d;
    float a = load(x + base + j), b = load(x + base + j + half);
    store(out + base + j, a * c - b * s);
    store(out + base + j + half, b * c + a * s);
  }
}
extern "C" __global__ void rope_bf16(const bf16* x, const int* pos, const float* f, bf16* out, long long tokens, int heads, int d, float sign) {
  rope(x, pos, f, out, tokens, heads, d, sign);
}
extern "C" __global__ void rope_f32(const float* x, const int* pos, const float* f, float* out, long long tokens, int heads, int d, float sign) {
  rope(x, pos, f, out, tokens, heads, d, sign);
}
