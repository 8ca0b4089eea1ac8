// Rotary embedding in Hugging Face's rotate-half layout, by each token's global position; the inverse rotation
// (negative angle) is the backward. In place is allowed: each thread reads its pairs before writing them.
#include "common.cuh"
#include <type_traits>

// (a, b) rotated by the angle: a·c − b·s, b·c + a·s, pinned as the fused multiply-adds the compilers made of it
// before packs (the second differently for the two types), so that neither path nor the JIT can choose others.
template <typename T>
__device__ __forceinline__ void rotate(float a, float b, float c, float s, float& ra, float& rb) {
  ra = __fmaf_rn(a, c, -__fmul_rn(b, s));
  if constexpr (std::is_same_v<T, bf16>) rb = __fmaf_rn(a, s, __fmul_rn(b, c));
  else rb = __fmaf_rn(b, c, __fmul_rn(a, s));
}

// x, out [b·t, heads, d]; positions [b·t]; inv_freq [d/2]. A thread takes one token's pair j (or pack of PACK pairs,
// where d/2 is a multiple of PACK and x and out are aligned) in every head: the angle's sine and cosine, which
// sincosf's slow path makes costly for the large angles of long contexts, are computed once for all the heads.
template <typename T>
__device__ void rope(const T* x, const int* __restrict__ positions, const float* __restrict__ inv_freq,
                     T* out, long long tokens, int heads, int d, float sign) {
  int half = d / 2;
  // As Hugging Face: the angle in fp32 from an fp32 position and inverse frequency.
  auto sin_cos = [&](long long token, int j, float& s, float& c) {
    float angle = (float)positions[token] * inv_freq[j];
    sincosf(angle, &s, &c);
    s *= sign;
  };
  if (half % PACK == 0 && aligned16(x, out)) {
    int packs = half / PACK;
    GRID_STRIDE_LOOP(i, tokens * packs) {
      int j = (int)(i % packs) * PACK;
      long long token = i / packs;
      float s[PACK], c[PACK];
#pragma unroll
      for (int k = 0; k < PACK; k++) sin_cos(token, j + k, s[k], c[k]);
      for (int h = 0; h < heads; h++) {
        long long base = (token * heads + h) * d + j;
        Pack a = load_pack(x + base), b = load_pack(x + base + half), ra, rb;
#pragma unroll
        for (int k = 0; k < PACK; k++) rotate<T>(a.v[k], b.v[k], c[k], s[k], ra.v[k], rb.v[k]);
        store_pack(out + base, ra);
        store_pack(out + base + half, rb);
      }
    }
  } else {
    GRID_STRIDE_LOOP(i, tokens * half) {
      int j = (int)(i % half);
      long long token = i / half;
      float s, c;
      sin_cos(token, j, s, c);
      for (int h = 0; h < heads; h++) {
        long long base = (token * heads + h) * d;
        float ra, rb;
        rotate<T>(load(x + base + j), load(x + base + j + half), c, s, ra, rb);
        store(out + base + j, ra);
        store(out + base + j + half, rb);
      }
    }
  }
}
extern "C" __global__ void rope_bf16(const bf16* x, const int* pos, const float* f, bf16* out, long long tokens, int heads, int d, float sign) {
  rope(x, pos, f, out, tokens, heads, d, sign);
}
extern "C" __global__ void rope_f32(const float* x, const int* pos, const float* f, float* out, long long tokens, int heads, int d, float sign) {
  rope(x, pos, f, out, tokens, heads, d, sign);
}
