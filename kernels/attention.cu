// Flash-style attention of one query block against one key/value block, with the log-sum-exp, its backward from
// the final (merged) output and log-sum-exp, and the merge of two partial results. bf16 operands on the tensor
// cores (mma.sync m16n8k16), fp32 softmax and accumulators; GQA reads the shared kv head in place.
//
// Layouts: q, out [b, tq, hq, d]; k, v [b, tk, hkv, d]; lse, delta [b, hq, tq] fp32 (natural log).
// Masks: causal (query i sees key j ≤ i, same positions: tq == tk) or none.
#include "attention.cuh"

namespace {

constexpr int PAD = 8;  // bf16 elements added to each shared row: keeps the fragment loads off one bank


// D (16×8, fp32) += A (16×16, bf16, row) · B (16×8, bf16, col).
// Fragment ownership for lane = 4g + t: A {(g, 2t..), (g+8, 2t..), (g, 2t+8..), (g+8, 2t+8..)};
// B {(k 2t.., n g), (k 2t+8.., n g)}; D {(g, 2t), (g, 2t+1), (g+8, 2t), (g+8, 2t+1)}.
__device__ __forceinline__ void mma(float* d, const unsigned* a, unsigned b0, unsigned b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// Four 8×8 bf16 matrices from shared memory, one row address per lane (lanes 8i..8i+7 give matrix i's rows);
// register i holds matrix i as (row lane/4, columns 2·(lane%4)..+1), or transposed with .trans.
__device__ __forceinline__ void ldmatrix_x4(unsigned* r, const bf16* row) {
  unsigned a = static_cast<unsigned>(__cvta_generic_to_shared(row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a));
}

__device__ __forceinline__ void ldmatrix_x4_trans(unsigned* r, const bf16* row) {
  unsigned a = static_cast<unsigned>(__cvta_generic_to_shared(row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a));
}

// 16 bytes global → shared without a register round trip; zero-filled when `valid` is false.
__device__ __forceinline__ void cp_async_16(void* dst, const void* src, bool valid) {
  unsigned d = static_cast<unsigned>(__cvta_generic_to_shared(dst));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(d), "l"(src), "r"(valid ? 16 : 0));
}

__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }

template <int N>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

// Starts copying rows [row0, row0+rows) of a [*, heads, D] tensor (head `head`, length `len`) into shared
// memory, zero-filling rows past the end; completes at the next cp_async_wait.
template <int D>
__device__ __forceinline__ void load_tile_async(bf16 (*dst)[D + PAD], const bf16* src, int row0, int rows, int len,
                                                int heads, int head) {
  constexpr int VEC = 8;
  for (int i = threadIdx.x; i < rows * (D / VEC); i += blockDim.x) {
    int r = i / (D / VEC), c = (i % (D / VEC)) * VEC;
    bool valid = row0 + r < len;
    const bf16* g = src + ((long long)(valid ? row0 + r : 0) * heads + head) * D + c;
    cp_async_16(&dst[r][c], g, valid);
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// Forward: grid (ceil(tq/128), hq, b), 128 threads; warp w owns query rows 32w..32w+31 of the block's 128, as two
// m-tiles of 16, so that every K and V fragment read from shared memory feeds two MMAs (shared-memory bandwidth,
// not the tensor cores, bounds a one-tile warp). Q is re-read by ldmatrix each key tile to leave registers for
// the two tiles' accumulators. K/V tiles of 64 keys are double-buffered through cp.async.
template <int D>
__device__ void attention_forward(const bf16* __restrict__ q, const bf16* __restrict__ k, const bf16* __restrict__ v,
                                  bf16* __restrict__ out, float* __restrict__ lse, int tq, int tk, int hq, int hkv,
                                  int causal, float scale) {
  constexpr int BQ = 128, BK = 64, MT = 2;
  extern __shared__ __align__(16) unsigned char smem[];
  bf16(*Qs)[D + PAD] = reinterpret_cast<bf16(*)[D + PAD]>(smem);
  bf16(*Ks)[BK][D + PAD] = reinterpret_cast<bf16(*)[BK][D + PAD]>(Qs + BQ);  // two stages
  bf16(*Vs)[BK][D + PAD] = Ks + 2;

  const int b = blockIdx.z, h = blockIdx.y, q0 = blockIdx.x * BQ;
  const int hk = h / (hq / hkv);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const bf16* qb = q + (long long)b * tq * hq * D;
  const bf16* kb = k + (long long)b * tk * hkv * D;
  const bf16* vb = v + (long long)b * tk * hkv * D;

  int kt_end = (tk + BK - 1) / BK;
  if (causal) kt_end = min(kt_end, (q0 + BQ - 1) / BK + 1);

  load_tile_async<D>(Qs, qb, q0, BQ, tq, hq, h);
  load_tile_async<D>(Ks[0], kb, 0, BK, tk, hkv, hk);
  load_tile_async<D>(Vs[0], vb, 0, BK, tk, hkv, hk);
  cp_async_commit();

  const int warp_q0 = q0 + warp * 32;  // this warp's first query row
  // Query rows of this thread: m-tile mt, half e>>1 of the accumulator.
  int qi[MT][2];
#pragma unroll
  for (int mt = 0; mt < MT; mt++) {
    qi[mt][0] = warp_q0 + mt * 16 + g;
    qi[mt][1] = warp_q0 + mt * 16 + g + 8;
  }
  // ldmatrix row addresses: A operands (16 rows × 16 cols) and B operands from row-major [n][k] or [k][n] tiles.
  const int a_row = warp * 32 + (lane & 7) + ((lane >> 3) & 1) * 8, a_col = (lane >> 4) * 8;
  const int kb_row = (lane & 7) + (lane >> 4) * 8, kb_col = ((lane >> 3) & 1) * 8;
  const int vb_row = (lane & 7) + ((lane >> 3) & 1) * 8, vb_col = (lane >> 4) * 8;

  float o[MT][D / 8][4];
#pragma unroll
  for (int mt = 0; mt < MT; mt++)
#pragma unroll
    for (int i = 0; i < D / 8; i++) o[mt][i][0] = o[mt][i][1] = o[mt][i][2] = o[mt][i][3] = 0.f;
  float m[MT][2], l[MT][2];
#pragma unroll
  for (int mt = 0; mt < MT; mt++) m[mt][0] = m[mt][1] = -INFINITY, l[mt][0] = l[mt][1] = 0.f;
  const float scale2 = scale * LOG2E;  // scores in the log2 domain, for ex2

  for (int kt = 0; kt < kt_end; kt++) {
    const int k0 = kt * BK, stage = kt & 1;
    if (kt + 1 < kt_end) {
      load_tile_async<D>(Ks[stage ^ 1], kb, k0 + BK, BK, tk, hkv, hk);
      load_tile_async<D>(Vs[stage ^ 1], vb, k0 + BK, BK, tk, hkv, hk);
      cp_async_commit();
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();
    if (!causal || k0 <= warp_q0 + 31) {
      float s[MT][BK / 8][4];
#pragma unroll
      for (int mt = 0; mt < MT; mt++)
#pragma unroll
        for (int nt = 0; nt < BK / 8; nt++) s[mt][nt][0] = s[mt][nt][1] = s[mt][nt][2] = s[mt][nt][3] = 0.f;
#pragma unroll
      for (int kk = 0; kk < D / 16; kk++) {
        unsigned qa[MT][4];
#pragma unroll
        for (int mt = 0; mt < MT; mt++) ldmatrix_x4(qa[mt], &Qs[a_row + mt * 16][kk * 16 + a_col]);
#pragma unroll
        for (int nt = 0; nt < BK / 8; nt += 2) {
          unsigned bk[4];
          ldmatrix_x4(bk, &Ks[stage][nt * 8 + kb_row][kk * 16 + kb_col]);
#pragma unroll
          for (int mt = 0; mt < MT; mt++) {
            mma(s[mt][nt], qa[mt], bk[0], bk[1]);
            mma(s[mt][nt + 1], qa[mt], bk[2], bk[3]);
          }
        }
      }
      // Only tiles that cross the diagonal or the end of the keys need a mask.
      const bool needs_mask = k0 + BK > tk || (causal && k0 + BK - 1 > warp_q0);
#pragma unroll
      for (int mt = 0; mt < MT; mt++) {
        float rowmax[2] = {-INFINITY, -INFINITY};
#pragma unroll
        for (int nt = 0; nt < BK / 8; nt++) {
#pragma unroll
          for (int e = 0; e < 4; e++) {
            int row = e >> 1;
            if (needs_mask) {
              int kj = k0 + nt * 8 + 2 * t + (e & 1);
              if (kj >= tk || (causal && kj > qi[mt][row])) s[mt][nt][e] = -INFINITY;
            }
            rowmax[row] = fmaxf(rowmax[row], s[mt][nt][e]);
          }
        }
        float alpha[2], mscaled[2], rowsum[2] = {0.f, 0.f};
#pragma unroll
        for (int row = 0; row < 2; row++) {
          rowmax[row] = fmaxf(rowmax[row], __shfl_xor_sync(0xffffffffu, rowmax[row], 1));
          rowmax[row] = fmaxf(rowmax[row], __shfl_xor_sync(0xffffffffu, rowmax[row], 2));
          float mnew = fmaxf(m[mt][row], rowmax[row] * scale2);
          // A row with no visible key yet keeps m = −∞; exp2 of (−∞ − −∞) must not become NaN.
          alpha[row] = mnew == -INFINITY ? 1.f : fast_exp2(m[mt][row] - mnew);
          mscaled[row] = mnew == -INFINITY ? 0.f : mnew;
          m[mt][row] = mnew;
        }
#pragma unroll
        for (int nt = 0; nt < BK / 8; nt++) {
#pragma unroll
          for (int e = 0; e < 4; e++) {
            int row = e >> 1;
            float p = fast_exp2(fmaf(s[mt][nt][e], scale2, -mscaled[row]));
            s[mt][nt][e] = p;
            rowsum[row] += p;
          }
        }
#pragma unroll
        for (int row = 0; row < 2; row++) {
          rowsum[row] += __shfl_xor_sync(0xffffffffu, rowsum[row], 1);
          rowsum[row] += __shfl_xor_sync(0xffffffffu, rowsum[row], 2);
          l[mt][row] = l[mt][row] * alpha[row] + rowsum[row];
        }
#pragma unroll
        for (int i = 0; i < D / 8; i++) {
          o[mt][i][0] *= alpha[0];
          o[mt][i][1] *= alpha[0];
          o[mt][i][2] *= alpha[1];
          o[mt][i][3] *= alpha[1];
        }
      }
      // P (16 × 64 per m-tile) as A fragments: the accumulator layout of two n-tiles is the A layout of one k-step.
#pragma unroll
      for (int j = 0; j < BK / 16; j++) {
        unsigned pa[MT][4];
#pragma unroll
        for (int mt = 0; mt < MT; mt++) {
          pa[mt][0] = pack(s[mt][2 * j][0], s[mt][2 * j][1]);
          pa[mt][1] = pack(s[mt][2 * j][2], s[mt][2 * j][3]);
          pa[mt][2] = pack(s[mt][2 * j + 1][0], s[mt][2 * j + 1][1]);
          pa[mt][3] = pack(s[mt][2 * j + 1][2], s[mt][2 * j + 1][3]);
        }
#pragma unroll
        for (int dn = 0; dn < D / 8; dn += 2) {
          unsigned bv[4];
          ldmatrix_x4_trans(bv, &Vs[stage][16 * j + vb_row][dn * 8 + vb_col]);
#pragma unroll
          for (int mt = 0; mt < MT; mt++) {
            mma(o[mt][dn], pa[mt], bv[0], bv[1]);
            mma(o[mt][dn + 1], pa[mt], bv[2], bv[3]);
          }
        }
      }
    }
    __syncthreads();  // the next iteration's copy overwrites the stage read here
  }

  bf16* ob = out + (long long)b * tq * hq * D;
#pragma unroll
  for (int mt = 0; mt < MT; mt++) {
#pragma unroll
    for (int row = 0; row < 2; row++) {
      const int i = qi[mt][row];
      if (i >= tq) continue;
      float inv = l[mt][row] > 0.f ? 1.f / l[mt][row] : 0.f;
      bf16* orow = ob + ((long long)i * hq + h) * D;
#pragma unroll
      for (int dn = 0; dn < D / 8; dn++) {
        *reinterpret_cast<__nv_bfloat162*>(orow + dn * 8 + 2 * t) =
            __floats2bfloat162_rn(o[mt][dn][2 * row] * inv, o[mt][dn][2 * row + 1] * inv);
      }
      if (t == 0) {
        lse[((long long)b * hq + h) * tq + i] = l[mt][row] > 0.f ? (m[mt][row] + log2f(l[mt][row])) * LN2 : -INFINITY;
      }
    }
  }
}

#define FORWARD(D)                                                                                              \
  extern "C" __global__ void __launch_bounds__(128, 2)                                                          \
      attention_forward_d##D(const bf16* q, const bf16* k, const bf16* v, bf16* out, float* lse, int tq, int tk,  \
                             int hq, int hkv, int causal, float scale) {                                          \
    attention_forward<D>(q, k, v, out, lse, tq, tk, hq, hkv, causal, scale);                                     \
  }
FORWARD(16)
FORWARD(32)
FORWARD(64)
FORWARD(128)

// ---------------------------------------------------------------------------------------------------------------
// delta[b, h, i] = Σ_d dout · out, the row term of the softmax backward; one warp per (b, i, h).
extern "C" __global__ void attention_backward_delta(const bf16* __restrict__ dout, const bf16* __restrict__ out,
                                                    float* __restrict__ delta, long long rows, int tq, int hq, int d) {
  long long r = (blockIdx.x * (long long)blockDim.x + threadIdx.x) >> 5;
  int lane = threadIdx.x & 31;
  if (r >= rows) return;
  const bf16* a = dout + r * d;
  const bf16* c = out + r * d;
  float s = 0.f;
  for (int j = lane; j < d; j += 32) s += __bfloat162float(a[j]) * __bfloat162float(c[j]);
  s = warp_sum(s);
  // r enumerates (b, i, h) in the tensors' order; delta is laid out (b, h, i) like lse.
  long long b = r / ((long long)tq * hq);
  int i = (int)(r / hq % tq), h = (int)(r % hq);
  if (lane == 0) delta[(b * hq + h) * tq + i] = s;
}

// Backward: grid (ceil(tk/64), hkv, b), 128 threads; warp w owns keys 16w..16w+15 of the block's 64 and walks
// over the query heads of its kv head and over query tiles of 32, whose Q, dO, lse and delta are double-buffered
// through cp.async. dK and dV stay in registers; dQ goes to an fp32 accumulator with atomics, since every key
// block adds to it. All fragments come from shared memory through ldmatrix.
template <int D>
__device__ void attention_backward(const bf16* __restrict__ q, const bf16* __restrict__ k, const bf16* __restrict__ v,
                                   const bf16* __restrict__ dout, const float* __restrict__ lse,
                                   const float* __restrict__ delta, float* __restrict__ dq_acc,
                                   bf16* __restrict__ dk, bf16* __restrict__ dv, int tq, int tk, int hq, int hkv,
                                   int causal, float scale) {
  constexpr int BK = 64, BQ = 32;
  extern __shared__ __align__(16) unsigned char smem[];
  bf16(*Ks)[D + PAD] = reinterpret_cast<bf16(*)[D + PAD]>(smem);
  bf16(*Vs)[D + PAD] = Ks + BK;
  bf16(*Qs)[BQ][D + PAD] = reinterpret_cast<bf16(*)[BQ][D + PAD]>(Vs + BK);  // two stages
  bf16(*dOs)[BQ][D + PAD] = Qs + 2;
  bf16(*dSs)[BQ + PAD] = reinterpret_cast<bf16(*)[BQ + PAD]>(dOs + 2);
  float(*lse_s)[BQ] = reinterpret_cast<float(*)[BQ]>(dSs + BK);  // two stages
  float(*delta_s)[BQ] = lse_s + 2;

  const int b = blockIdx.z, hk = blockIdx.y, k0 = blockIdx.x * BK;
  const int group = hq / hkv;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const int r0 = warp * 16 + g;  // this thread's key rows: r0 and r0 + 8
  const int kj[2] = {k0 + r0, k0 + r0 + 8};
  const bf16* qb = q + (long long)b * tq * hq * D;
  const bf16* dob = dout + (long long)b * tq * hq * D;
  // ldmatrix row addresses (see the forward).
  const int a_row = warp * 16 + (lane & 7) + ((lane >> 3) & 1) * 8, a_col = (lane >> 4) * 8;
  const int nb_row = (lane & 7) + (lane >> 4) * 8, nb_col = ((lane >> 3) & 1) * 8;
  const int tb_row = (lane & 7) + ((lane >> 3) & 1) * 8, tb_col = (lane >> 4) * 8;

  const int qt_begin = causal ? k0 / BQ : 0;
  const int qt_count = max(0, (tq + BQ - 1) / BQ - qt_begin);
  const int steps = group * qt_count;

  // Step i covers query head hk·group + i / qt_count and query tile qt_begin + i % qt_count.
  auto prefetch = [&](int i, int stage) {
    const int h = hk * group + i / qt_count, q0 = (qt_begin + i % qt_count) * BQ;
    load_tile_async<D>(Qs[stage], qb, q0, BQ, tq, hq, h);
    load_tile_async<D>(dOs[stage], dob, q0, BQ, tq, hq, h);
    for (int j = threadIdx.x; j < BQ; j += blockDim.x) {
      bool in = q0 + j < tq;
      long long at = ((long long)b * hq + h) * tq + q0 + j;
      lse_s[stage][j] = in ? lse[at] * LOG2E : 0.f;
      delta_s[stage][j] = in ? delta[at] : 0.f;
    }
  };

  load_tile_async<D>(Ks, k + (long long)b * tk * hkv * D, k0, BK, tk, hkv, hk);
  load_tile_async<D>(Vs, v + (long long)b * tk * hkv * D, k0, BK, tk, hkv, hk);
  if (steps > 0) prefetch(0, 0);
  cp_async_commit();

  float dkacc[D / 8][4], dvacc[D / 8][4];
#pragma unroll
  for (int i = 0; i < D / 8; i++) {
    dkacc[i][0] = dkacc[i][1] = dkacc[i][2] = dkacc[i][3] = 0.f;
    dvacc[i][0] = dvacc[i][1] = dvacc[i][2] = dvacc[i][3] = 0.f;
  }
  const float scale2 = scale * LOG2E;

  for (int i = 0; i < steps; i++) {
    const int stage = i & 1;
    const int h = hk * group + i / qt_count, q0 = (qt_begin + i % qt_count) * BQ;
    if (i + 1 < steps) {
      prefetch(i + 1, stage ^ 1);
      cp_async_commit();
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();

    // Sᵀ (16 keys × 32 queries) = K_w · Qᵀ and dPᵀ = V_w · dOᵀ.
    float p[BQ / 8][4], dp[BQ / 8][4];
#pragma unroll
    for (int nt = 0; nt < BQ / 8; nt++) {
      p[nt][0] = p[nt][1] = p[nt][2] = p[nt][3] = 0.f;
      dp[nt][0] = dp[nt][1] = dp[nt][2] = dp[nt][3] = 0.f;
    }
#pragma unroll
    for (int kk = 0; kk < D / 16; kk++) {
      unsigned ka[4], va[4];
      ldmatrix_x4(ka, &Ks[a_row][kk * 16 + a_col]);
      ldmatrix_x4(va, &Vs[a_row][kk * 16 + a_col]);
#pragma unroll
      for (int nt = 0; nt < BQ / 8; nt += 2) {
        unsigned bq[4], bo[4];
        ldmatrix_x4(bq, &Qs[stage][nt * 8 + nb_row][kk * 16 + nb_col]);
        ldmatrix_x4(bo, &dOs[stage][nt * 8 + nb_row][kk * 16 + nb_col]);
        mma(p[nt], ka, bq[0], bq[1]);
        mma(p[nt + 1], ka, bq[2], bq[3]);
        mma(dp[nt], va, bo[0], bo[1]);
        mma(dp[nt + 1], va, bo[2], bo[3]);
      }
    }
    // Pᵀ = exp(Sᵀ·scale − lse); dSᵀ = Pᵀ ⊙ (dPᵀ − delta); masked entries have P = 0 and so dS = 0.
    const bool needs_mask = q0 + BQ > tq || k0 + BK > tk || (causal && k0 + BK - 1 > q0);
#pragma unroll
    for (int nt = 0; nt < BQ / 8; nt++) {
#pragma unroll
      for (int e = 0; e < 4; e++) {
        int col = nt * 8 + 2 * t + (e & 1);
        float pv = fast_exp2(fmaf(p[nt][e], scale2, -lse_s[stage][col]));
        if (needs_mask) {
          int qi = q0 + col, row = e >> 1;
          if (qi >= tq || kj[row] >= tk || (causal && kj[row] > qi)) pv = 0.f;
        }
        p[nt][e] = pv;
        dp[nt][e] = pv * (dp[nt][e] - delta_s[stage][col]);
      }
    }
    // dV_w += Pᵀ · dO and dK_w += dSᵀ · Q, k-steps of 16 queries; dSᵀ also goes to shared memory for dQ.
#pragma unroll
    for (int j = 0; j < BQ / 16; j++) {
      unsigned pa[4] = {pack(p[2 * j][0], p[2 * j][1]), pack(p[2 * j][2], p[2 * j][3]),
                        pack(p[2 * j + 1][0], p[2 * j + 1][1]), pack(p[2 * j + 1][2], p[2 * j + 1][3])};
      unsigned sa[4] = {pack(dp[2 * j][0], dp[2 * j][1]), pack(dp[2 * j][2], dp[2 * j][3]),
                        pack(dp[2 * j + 1][0], dp[2 * j + 1][1]), pack(dp[2 * j + 1][2], dp[2 * j + 1][3])};
#pragma unroll
      for (int dn = 0; dn < D / 8; dn += 2) {
        unsigned bo[4], bq[4];
        ldmatrix_x4_trans(bo, &dOs[stage][16 * j + tb_row][dn * 8 + tb_col]);
        ldmatrix_x4_trans(bq, &Qs[stage][16 * j + tb_row][dn * 8 + tb_col]);
        mma(dvacc[dn], pa, bo[0], bo[1]);
        mma(dvacc[dn + 1], pa, bo[2], bo[3]);
        mma(dkacc[dn], sa, bq[0], bq[1]);
        mma(dkacc[dn + 1], sa, bq[2], bq[3]);
      }
      *reinterpret_cast<unsigned*>(&dSs[r0][16 * j + 2 * t]) = sa[0];
      *reinterpret_cast<unsigned*>(&dSs[r0 + 8][16 * j + 2 * t]) = sa[1];
      *reinterpret_cast<unsigned*>(&dSs[r0][16 * j + 2 * t + 8]) = sa[2];
      *reinterpret_cast<unsigned*>(&dSs[r0 + 8][16 * j + 2 * t + 8]) = sa[3];
    }
    __syncthreads();

    // dQ (32 queries × D) += dS · K over the block's 64 keys: warp w takes the 16 query rows 16·(w&1).. and
    // every other pair of 8-column tiles; fp32 atomics into the accumulator. dS is read transposed from dSᵀ.
    {
      const int mrow = (warp & 1) * 16;
      unsigned da[BK / 16][4];
#pragma unroll
      for (int j = 0; j < BK / 16; j++) {
        ldmatrix_x4_trans(da[j], &dSs[16 * j + (lane & 7) + (lane >> 4) * 8][mrow + ((lane >> 3) & 1) * 8]);
      }
#pragma unroll
      for (int pair = warp >> 1; pair < D / 16; pair += 2) {
        const int dn = 2 * pair;
        float acc[2][4] = {{0.f, 0.f, 0.f, 0.f}, {0.f, 0.f, 0.f, 0.f}};
#pragma unroll
        for (int j = 0; j < BK / 16; j++) {
          unsigned bk[4];
          ldmatrix_x4_trans(bk, &Ks[16 * j + tb_row][dn * 8 + tb_col]);
          mma(acc[0], da[j], bk[0], bk[1]);
          mma(acc[1], da[j], bk[2], bk[3]);
        }
#pragma unroll
        for (int x = 0; x < 2; x++) {
#pragma unroll
          for (int e = 0; e < 4; e++) {
            int qi = q0 + mrow + g + (e >> 1) * 8;
            if (qi < tq) {
              atomicAdd(dq_acc + (((long long)b * tq + qi) * hq + h) * D + (dn + x) * 8 + 2 * t + (e & 1), acc[x][e] * scale);
            }
          }
        }
      }
    }
    __syncthreads();  // the next prefetch overwrites this stage, and the next step rewrites dSᵀ
  }
  cp_async_wait<0>();  // with no query tile to visit, the K/V copies are still outstanding

  // This block alone owns its keys for kv head hk: plain stores.
#pragma unroll
  for (int row = 0; row < 2; row++) {
    if (kj[row] >= tk) continue;
    long long base = (((long long)b * tk + kj[row]) * hkv + hk) * D;
#pragma unroll
    for (int dn = 0; dn < D / 8; dn++) {
      *reinterpret_cast<__nv_bfloat162*>(dk + base + dn * 8 + 2 * t) =
          __floats2bfloat162_rn(dkacc[dn][2 * row] * scale, dkacc[dn][2 * row + 1] * scale);
      *reinterpret_cast<__nv_bfloat162*>(dv + base + dn * 8 + 2 * t) =
          __floats2bfloat162_rn(dvacc[dn][2 * row], dvacc[dn][2 * row + 1]);
    }
  }
}

#define BACKWARD(D)                                                                                              \
  extern "C" __global__ void __launch_bounds__(128)                                                              \
      attention_backward_d##D(const bf16* q, const bf16* k, const bf16* v, const bf16* dout, const float* lse,     \
                              const float* delta, float* dq_acc, bf16* dk, bf16* dv, int tq, int tk, int hq,       \
                              int hkv, int causal, float scale) {                                                  \
    attention_backward<D>(q, k, v, dout, lse, delta, dq_acc, dk, dv, tq, tk, hq, hkv, causal, scale);             \
  }
BACKWARD(16)
BACKWARD(32)
BACKWARD(64)
BACKWARD(128)

// ---------------------------------------------------------------------------------------------------------------
// Merge of a block result into the running one, in fp32, one warp per (b, i, h):
// out ← out − σ(lseB − lse)·(out − outB), lse ← lse − log σ(lse − lseB); a running lse of −∞ is empty.
extern "C" __global__ void attention_merge(bf16* __restrict__ out, float* __restrict__ lse, const bf16* __restrict__ out_b,
                                           const float* __restrict__ lse_b, long long rows, int tq, int hq, int d) {
  long long r = (blockIdx.x * (long long)blockDim.x + threadIdx.x) >> 5;
  int lane = threadIdx.x & 31;
  if (r >= rows) return;
  long long b = r / ((long long)tq * hq);
  int i = (int)(r / hq % tq), h = (int)(r % hq);
  long long li = (b * hq + h) * tq + i;
  float a = lse[li], bb = lse_b[li];
  float w;  // weight of the block's output
  float merged;
  if (a == -INFINITY) {
    w = 1.f;
    merged = bb;
  } else if (bb == -INFINITY) {
    w = 0.f;
    merged = a;
  } else {
    w = 1.f / (1.f + expf(a - bb));                       // σ(lseB − lse)
    merged = fmaxf(a, bb) + log1pf(expf(-fabsf(a - bb)));  // = lse − log σ(lse − lseB), without overflow
  }
  bf16* o = out + r * d;
  const bf16* ob = out_b + r * d;
  for (int j = lane; j < d; j += 32) {
    float x = __bfloat162float(o[j]);
    o[j] = __float2bfloat16_rn(x - w * (x - __bfloat162float(ob[j])));
  }
  if (lane == 0) lse[li] = merged;
}

// dq (bf16) = the fp32 accumulator, overwriting; by 16-byte packs where the pointers allow, as cast_f32_to_bf16.
extern "C" __global__ void attention_backward_dq(const float* __restrict__ acc, bf16* __restrict__ dq, long long n) {
  map_packs(n, [](float v) { return v; }, dq, acc);
}
