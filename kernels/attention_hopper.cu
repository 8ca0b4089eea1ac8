// arch: sm_90a only
// Hopper versions of the attention block kernels of attention.cu (same arguments, layouts, masks and results),
// on warpgroup MMAs (wgmma) that read their operands from swizzled shared-memory tiles (wgmma.cuh). Two
// warpgroups a block: while one works through its softmax the other keeps the tensor cores busy. Built for
// sm_90a only; the CUDA backend uses these where a device loads this module's sm_90a code and falls back to
// attention.cu elsewhere.
//
// Layouts: q, out [b, tq, hq, d]; k, v [b, tk, hkv, d]; lse, delta [b, hq, tq] fp32 (natural log).
#include "attention.cuh"
#include "wgmma.cuh"
#include <type_traits>

namespace {

// Accumulator fragments with `cols` columns as A operands over k-steps of 16 columns (see wgmma.cuh).
template <int COLS>
__device__ __forceinline__ void to_a_fragments(const float* s, unsigned (*a)[4]) {
#pragma unroll
  for (int kk = 0; kk < COLS / 16; kk++) {
    a[kk][0] = pack(s[8 * kk + 0], s[8 * kk + 1]);
    a[kk][1] = pack(s[8 * kk + 2], s[8 * kk + 3]);
    a[kk][2] = pack(s[8 * kk + 4], s[8 * kk + 5]);
    a[kk][3] = pack(s[8 * kk + 6], s[8 * kk + 7]);
  }
}

__device__ __forceinline__ unsigned char* align1024(unsigned char* p) {
  return reinterpret_cast<unsigned char*>((reinterpret_cast<uintptr_t>(p) + 1023) & ~static_cast<uintptr_t>(1023));
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// Forward: grid (ceil(tq/128), hq, b), 256 threads. Warpgroup w owns query rows 64w..64w+63 of the block's 128;
// key/value tiles of 128 rows are double-buffered, loaded by the tensor memory accelerator (one thread issues a
// tile; a barrier counts its bytes, another counts the warps done with it). Per tile: S = Q·Kᵀ (wgmma, both from
// shared memory), the online softmax in registers, O += P·V (P from registers, V MN-major). A warpgroup's softmax
// and its MMAs run one after the other: the warp-specialized forward below overlaps them and is the default; this
// one is the fallback. (Ping-pong turns and the next tile's Q·Kᵀ overlapped with P·V were tried in this kernel and
// lost: 460 and 384 TFLOP/s against its 483, for want of registers; benchmarks.md.)

// The online softmax of one tile's scores (this warpgroup's 64 rows × BK keys, accumulator layout) in place:
// masked scores −∞, then P = exp2(s·scale2 − m_new); m and l move on, alpha is what O must be scaled by.
template <int BK>
__device__ __forceinline__ void online_softmax(float* s, float* m, float* l, float* alpha, bool needs_mask, int k0,
                                               int tk, int causal, const int* qi, int t, float scale2) {
  float rowmax[2] = {-INFINITY, -INFINITY};
#pragma unroll
  for (int j = 0; j < BK / 8; j++) {
#pragma unroll
    for (int e = 0; e < 4; e++) {
      const int row = e >> 1;
      if (needs_mask) {
        const int kj = k0 + 8 * j + 2 * t + (e & 1);
        if (kj >= tk || (causal && kj > qi[row])) s[4 * j + e] = -INFINITY;
      }
      rowmax[row] = fmaxf(rowmax[row], s[4 * j + e]);
    }
  }
  float mscaled[2], rowsum[2] = {0.f, 0.f};
#pragma unroll
  for (int row = 0; row < 2; row++) {
    rowmax[row] = fmaxf(rowmax[row], __shfl_xor_sync(0xffffffffu, rowmax[row], 1));
    rowmax[row] = fmaxf(rowmax[row], __shfl_xor_sync(0xffffffffu, rowmax[row], 2));
    const float mnew = fmaxf(m[row], rowmax[row] * scale2);
    // A row with no visible key yet keeps m = −∞; exp2 of (−∞ − −∞) must not become NaN.
    alpha[row] = mnew == -INFINITY ? 1.f : fast_exp2(m[row] - mnew);
    mscaled[row] = mnew == -INFINITY ? 0.f : mnew;
    m[row] = mnew;
  }
#pragma unroll
  for (int j = 0; j < BK / 8; j++) {
#pragma unroll
    for (int e = 0; e < 4; e++) {
      const float p = fast_exp2(fmaf(s[4 * j + e], scale2, -mscaled[e >> 1]));
      s[4 * j + e] = p;
      rowsum[e >> 1] += p;
    }
  }
#pragma unroll
  for (int row = 0; row < 2; row++) {
    rowsum[row] += __shfl_xor_sync(0xffffffffu, rowsum[row], 1);
    rowsum[row] += __shfl_xor_sync(0xffffffffu, rowsum[row], 2);
    l[row] = l[row] * alpha[row] + rowsum[row];
  }
}

template <int D>
__device__ __forceinline__ void rescale(float* o, const float* alpha) {
#pragma unroll
  for (int j = 0; j < D / 8; j++) {
    o[4 * j + 0] *= alpha[0];
    o[4 * j + 1] *= alpha[0];
    o[4 * j + 2] *= alpha[1];
    o[4 * j + 3] *= alpha[1];
  }
}

template <int D>
__device__ void hopper_forward(const CUtensorMap* qmap, const CUtensorMap* kmap, const CUtensorMap* vmap,
                               bf16* __restrict__ out, float* __restrict__ lse, int tq, int tk, int hq, int hkv,
                               int causal, float scale) {
  constexpr int BQ = 128, BK = 128, TILE = BK * D * 2;
  extern __shared__ unsigned char smem_raw[];
  unsigned char* Qs = align1024(smem_raw);
  unsigned char* Ks = Qs + BQ * D * 2;  // two stages, then two of V
  unsigned char* Vs = Ks + 2 * TILE;
  // Barriers: Q landed; K/V of each stage landed; K/V of each stage read by all 8 warps (free to refill).
  uint64_t* bars = reinterpret_cast<uint64_t*>(Vs + 2 * TILE);
  uint64_t* full = bars + 1;
  uint64_t* empty = bars + 3;

  const int b = blockIdx.z, h = blockIdx.y, q0 = blockIdx.x * BQ;
  const int hk = h / (hq / hkv);
  const int tid = threadIdx.x, wgi = tid >> 7, warp = (tid >> 5) & 3, lane = tid & 31, g = lane >> 2, t = lane & 3;
  // 128-row tiles on 128-aligned query blocks: every tile below kt_end has a key a row of each warpgroup sees.
  int kt_end = (tk + BK - 1) / BK;
  if (causal) kt_end = min(kt_end, (q0 + BQ - 1) / BK + 1);

  auto load_kv = [&](int kt) {
    const int stage = kt & 1;
    wg::barrier_expect(&full[stage], 2 * TILE);
    wg::tma_tile<D>(Ks + stage * TILE, kmap, BK, kt * BK, hk, b, &full[stage]);
    wg::tma_tile<D>(Vs + stage * TILE, vmap, BK, kt * BK, hk, b, &full[stage]);
  };
  if (tid == 0) {
    for (int i = 0; i < 3; i++) wg::barrier_init(&bars[i], 1);
    for (int i = 0; i < 2; i++) wg::barrier_init(&empty[i], 8);
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  }
  __syncthreads();
  if (tid == 0) {
    wg::barrier_expect(&bars[0], BQ * D * 2);
    wg::tma_tile<D>(Qs, qmap, BQ, q0, h, b, &bars[0]);
    for (int kt = 0; kt < min(2, kt_end); kt++) load_kv(kt);
  }
  // Both warpgroups are done with tile kt's stage: warpgroup 1's first thread (the later one, as a rule) refills it
  // with the tile after next.
  auto release = [&](int kt) {
    if (lane == 0) wg::barrier_arrive(&empty[kt & 1]);
    if (tid == 128 && kt + 2 < kt_end) {
      wg::barrier_wait(&empty[kt & 1], (kt >> 1) & 1);
      load_kv(kt + 2);
    }
    __syncwarp();  // the warp's MMAs need all its lanes
  };

  const int wq0 = q0 + 64 * wgi;  // this warpgroup's first query row
  const int qi[2] = {wq0 + 16 * warp + g, wq0 + 16 * warp + g + 8};
  float o[D / 2];
#pragma unroll
  for (int i = 0; i < D / 2; i++) o[i] = 0.f;
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f}, alpha[2];
  const float scale2 = scale * LOG2E;
  auto needs_mask = [&](int kt) { return kt * BK + BK > tk || (causal && kt * BK + BK - 1 > wq0); };
  auto issue_s = [&](float* s, int kt) {
#pragma unroll
    for (int kk = 0; kk < D / 16; kk++) {
      wg::mma_ss<BK, 0, 0>(s, wg::desc_k_major(Qs, BQ, 64 * wgi, kk),
                           wg::desc_k_major(Ks + (kt & 1) * TILE, BK, 0, kk), kk > 0);
    }
  };
  auto issue_pv = [&](unsigned (*pa)[4], int kt) {
#pragma unroll
    for (int kk = 0; kk < BK / 16; kk++) {
      wg::mma_rs<D, 1>(o, pa[kk], wg::desc_mn_major(Vs + (kt & 1) * TILE, BK, 0, kk), 1);
    }
  };

  if (kt_end > 0) wg::barrier_wait(&bars[0], 0);
  for (int kt = 0; kt < kt_end; kt++) {
    wg::barrier_wait(&full[kt & 1], (kt >> 1) & 1);
    float s[BK / 2];
    wg::fence();
    issue_s(s, kt);
    wg::commit();
    wg::wait<0>();
    wg::hold<BK / 2>(s);
    online_softmax<BK>(s, m, l, alpha, needs_mask(kt), kt * BK, tk, causal, qi, t, scale2);
    rescale<D>(o, alpha);
    unsigned pa[BK / 16][4];
    to_a_fragments<BK>(s, pa);
    wg::fence();
    issue_pv(pa, kt);
    wg::commit();
    wg::wait<0>();
    wg::hold<D / 2>(o);
    release(kt);
  }
  if (kt_end == 0 && tid == 0) wg::barrier_wait(&bars[0], 0);  // nothing to attend to: let the Q load land

  bf16* ob = out + (long long)b * tq * hq * D;
#pragma unroll
  for (int row = 0; row < 2; row++) {
    const int i = qi[row];
    if (i >= tq) continue;
    const float inv = l[row] > 0.f ? 1.f / l[row] : 0.f;
    bf16* orow = ob + ((long long)i * hq + h) * D;
#pragma unroll
    for (int j = 0; j < D / 8; j++) {
      *reinterpret_cast<__nv_bfloat162*>(orow + 8 * j + 2 * t) =
          __floats2bfloat162_rn(o[4 * j + 2 * row] * inv, o[4 * j + 2 * row + 1] * inv);
    }
    if (t == 0) {
      lse[((long long)b * hq + h) * tq + i] = l[row] > 0.f ? (m[row] + log2f(l[row])) * LN2 : -INFINITY;
    }
  }
}

// attention_forward_hopper_d<D>: the 256-thread forward, for GPUs or drivers where the warp-specialized one below
// cannot run (its setmaxnreg split needs the whole register file of an SM).
#define FORWARD(D)                                                                                              \
  extern "C" __global__ void __launch_bounds__(256, 1)                                                          \
      attention_forward_hopper_d##D(const __grid_constant__ CUtensorMap qmap,                                   \
                                    const __grid_constant__ CUtensorMap kmap,                                   \
                                    const __grid_constant__ CUtensorMap vmap, bf16* out, float* lse, int tq,    \
                                    int tk, int hq, int hkv, int causal, float scale) {                         \
    hopper_forward<D>(&qmap, &kmap, &vmap, out, lse, tq, tk, hq, hkv, causal, scale);                           \
  }
FORWARD(64)
FORWARD(128)

// ---------------------------------------------------------------------------------------------------------------
// Forward, warp-specialized: grid (ceil(tq/128), hq, b), 384 threads; arguments, layouts, masks and results as the
// forward above. Warpgroup 0 only loads (one thread issues the TMA copies): Q once, then K and V tiles of 128 keys
// into STAGES stages, K and V each with their own full barrier (bytes landed) and empty barrier (all 8 consumer
// warps done), so that a tile's Q·Kᵀ need not wait for its V and K's stage refills as soon as its Q·Kᵀ is done.
// Warpgroups 1 and 2 own query rows 0..63 and 64..127 and do nothing but MMAs and the softmax. setmaxnreg hands
// the loader's registers to them, so that O, S and the previous tile's P fit in registers together: each issues
// tile kt's Q·Kᵀ with tile kt − 1's P·V and works through tile kt's softmax while P·V runs, and the two take turns
// issuing (named barriers 1 and 2), so that one's softmax runs under the other's MMAs. The loader never competes
// for issue slots or stalls a consumer warp on an empty barrier (the 256-thread kernels above do both).

// Register split: 24 × 128 + 240 × 256 = 64512, exactly the pool the launch reserves (384 threads × the 168 that
// __launch_bounds__(384, 1) leaves, which ptxas then gives a kernel with setmaxnreg whatever it needs before
// it); the consumers' setmaxnreg.inc waits until the loader's dec has returned its share. The consumers need
// about 200 for D = 128 (ptxas spills below 200); the rest is room for its scheduling.
constexpr int WS_LOADER_REGS = 24;
constexpr int WS_CONSUMER_REGS = 240;

template <bool V>
using ws_mask = std::integral_constant<bool, V>;

template <int D, int STAGES>
__device__ void hopper_forward_ws(const CUtensorMap* qmap, const CUtensorMap* kmap, const CUtensorMap* vmap,
                                  bf16* __restrict__ out, float* __restrict__ lse, int tq, int tk, int hq, int hkv,
                                  int causal, float scale) {
  constexpr int BQ = 128, BK = 128, TILE = BK * D * 2;
  extern __shared__ unsigned char smem_raw[];
  unsigned char* Qs = align1024(smem_raw);
  unsigned char* Ks = Qs + BQ * D * 2;  // STAGES stages, then STAGES of V
  unsigned char* Vs = Ks + STAGES * TILE;
  uint64_t* q_full = reinterpret_cast<uint64_t*>(Vs + STAGES * TILE);
  uint64_t* k_full = q_full + 1;
  uint64_t* v_full = k_full + STAGES;
  uint64_t* k_empty = v_full + STAGES;
  uint64_t* v_empty = k_empty + STAGES;

  // Causal: the last query blocks see the most key tiles; starting them first keeps the grid's tail short.
  const int b = blockIdx.z, h = blockIdx.y, q0 = (gridDim.x - 1 - blockIdx.x) * BQ;
  const int hk = h / (hq / hkv);
  const int tid = threadIdx.x, wgi = tid >> 7, warp = (tid >> 5) & 3, lane = tid & 31, g = lane >> 2, t = lane & 3;
  int kt_end = (tk + BK - 1) / BK;
  if (causal) kt_end = min(kt_end, (q0 + BQ - 1) / BK + 1);

  if (tid == 0) {
    wg::barrier_init(q_full, 1);
    for (int s = 0; s < STAGES; s++) {
      wg::barrier_init(&k_full[s], 1);
      wg::barrier_init(&v_full[s], 1);
      wg::barrier_init(&k_empty[s], 8);
      wg::barrier_init(&v_empty[s], 8);
    }
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  }
  __syncthreads();

  if (wgi == 0) {
    asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(WS_LOADER_REGS));
    if (tid == 0) {
      wg::barrier_expect(q_full, BQ * D * 2);
      wg::tma_tile<D>(Qs, qmap, BQ, q0, h, b, q_full);
      for (int kt = 0; kt < kt_end; kt++) {
        const int s = kt % STAGES;
        const uint32_t use = kt / STAGES;  // the stage's use count: its barriers' phase parity
        // A stage's previous tile (kt − STAGES) must be released first: its K after that tile's Q·Kᵀ, its V
        // after its P·V, a tile later.
        if (kt >= STAGES) wg::barrier_wait(&k_empty[s], (use - 1) & 1);
        wg::barrier_expect(&k_full[s], TILE);
        wg::tma_tile<D>(Ks + s * TILE, kmap, BK, kt * BK, hk, b, &k_full[s]);
        if (kt >= STAGES) wg::barrier_wait(&v_empty[s], (use - 1) & 1);
        wg::barrier_expect(&v_full[s], TILE);
        wg::tma_tile<D>(Vs + s * TILE, vmap, BK, kt * BK, hk, b, &v_full[s]);
      }
    }
    return;
  }
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(WS_CONSUMER_REGS));

  const int cw = wgi - 1;         // consumer warpgroup 0 or 1
  const int wq0 = q0 + 64 * cw;  // its first query row
  const int qi[2] = {wq0 + 16 * warp + g, wq0 + 16 * warp + g + 8};
  // Key tiles [0, unmasked) are whole and, causal, entirely at or below the diagonal for each of the 64 rows.
  int unmasked = min(kt_end, tk / BK);
  if (causal) unmasked = min(unmasked, (wq0 + 1) / BK);
  float o[D / 2];
#pragma unroll
  for (int i = 0; i < D / 2; i++) o[i] = 0.f;
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f}, alpha[2];
  const float scale2 = scale * LOG2E;

  // Turns: warpgroup 0 starts; each hands over after issuing, except warpgroup 1 at its last issue (kt_end + 1
  // issues each: the first Q·Kᵀ alone, kt_end − 1 pairs, the last P·V alone).
  const int issues = kt_end + 1;
  int issued = 0;
  auto my_turn = [&]() { wg::named_sync(1 + cw, 256); };
  auto hand_over = [&]() {
    issued++;
    if (cw == 0 || issued < issues) wg::named_arrive(2 - cw, 256);
  };
  auto release = [&](uint64_t* empty, int kt) {
    if (lane == 0) wg::barrier_arrive(&empty[kt % STAGES]);
  };
  auto issue_s = [&](float* s, int kt) {
#pragma unroll
    for (int kk = 0; kk < D / 16; kk++) {
      wg::mma_ss<BK, 0, 0>(s, wg::desc_k_major(Qs, BQ, 64 * cw, kk),
                           wg::desc_k_major(Ks + (kt % STAGES) * TILE, BK, 0, kk), kk > 0);
    }
  };
  auto issue_pv = [&](unsigned (*pa)[4], int kt) {
#pragma unroll
    for (int kk = 0; kk < BK / 16; kk++) {
      wg::mma_rs<D, 1>(o, pa[kk], wg::desc_mn_major(Vs + (kt % STAGES) * TILE, BK, 0, kk), 1);
    }
  };
  auto wait_full = [&](uint64_t* full, int kt) { wg::barrier_wait(&full[kt % STAGES], (kt / STAGES) & 1); };

  wg::barrier_wait(q_full, 0);
  if (kt_end > 0) {
    if (cw == 1) wg::named_arrive(1, 256);
    unsigned pa[BK / 16][4];  // P of the tile whose P·V comes next
    {
      float s[BK / 2];
      wait_full(k_full, 0);
      my_turn();
      wg::fence();
      issue_s(s, 0);
      wg::commit();
      hand_over();
      wg::wait<0>();
      wg::hold<BK / 2>(s);
      release(k_empty, 0);
      online_softmax<BK>(s, m, l, alpha, unmasked == 0, 0, tk, causal, qi, t, scale2);
      to_a_fragments<BK>(s, pa);
    }
    // Tile kt's scores with tile kt − 1's P·V; masked or not decided at compile time, so that the unmasked tiles
    // (all but one or two a row block) carry no mask arithmetic.
    auto step = [&](int kt, auto masked) {
      float s[BK / 2];
      wait_full(k_full, kt);
      wait_full(v_full, kt - 1);
      my_turn();
      wg::fence();
      issue_s(s, kt);
      wg::commit();
      issue_pv(pa, kt - 1);
      wg::commit();
      hand_over();
      wg::wait<1>();  // Q·Kᵀ of tile kt is in; P·V of tile kt − 1 may still run (and read pa)
      wg::hold<BK / 2>(s);
      release(k_empty, kt);
      online_softmax<BK>(s, m, l, alpha, decltype(masked)::value, kt * BK, tk, causal, qi, t, scale2);
      wg::wait<0>();
      wg::hold<D / 2>(o);
      release(v_empty, kt - 1);
      rescale<D>(o, alpha);
      to_a_fragments<BK>(s, pa);
    };
    int kt = 1;
    for (; kt < unmasked; kt++) step(kt, ws_mask<false>{});
    for (; kt < kt_end; kt++) step(kt, ws_mask<true>{});
    wait_full(v_full, kt_end - 1);
    my_turn();
    wg::fence();
    issue_pv(pa, kt_end - 1);
    wg::commit();
    hand_over();
    wg::wait<0>();
    wg::hold<D / 2>(o);
    // Nothing loads after the last tile: its stages need no release.
  }

  // O, normalized, into this warpgroup's own 64 rows of the Q tile (its last Q·Kᵀ is complete, and the other
  // warpgroup reads only its own rows), then out as whole 16-byte pieces of rows rather than 4-byte fragments.
  unsigned char* Os = Qs;
  float inv[2];
#pragma unroll
  for (int row = 0; row < 2; row++) {
    inv[row] = l[row] > 0.f ? 1.f / l[row] : 0.f;
    const int i = qi[row];
    if (t == 0 && i < tq) {
      lse[((long long)b * hq + h) * tq + i] = l[row] > 0.f ? (m[row] + log2f(l[row])) * LN2 : -INFINITY;
    }
  }
#pragma unroll
  for (int j = 0; j < D / 8; j++) {
#pragma unroll
    for (int row = 0; row < 2; row++) {
      const int r = 64 * cw + 16 * warp + g + 8 * row;
      *reinterpret_cast<unsigned*>(Os + wg::offset(BQ, r, 8 * j + 2 * t)) =
          pack(o[4 * j + 2 * row] * inv[row], o[4 * j + 2 * row + 1] * inv[row]);
    }
  }
  wg::named_sync(3 + cw, 128);
  constexpr int CHUNKS = D / 8;  // 16-byte pieces of a row
  bf16* ob = out + (long long)b * tq * hq * D;
#pragma unroll
  for (int i = tid & 127; i < 64 * CHUNKS; i += 128) {
    const int r = i / CHUNKS, c = (i % CHUNKS) * 8;
    if (wq0 + r < tq) {
      *reinterpret_cast<uint4*>(ob + ((long long)(wq0 + r) * hq + h) * D + c) =
          *reinterpret_cast<const uint4*>(Os + wg::offset(BQ, 64 * cw + r, c));
    }
  }
}

// attention_forward_hopper_ws_d<D>: the warp-specialized forward, 384 threads, two stages of K and V (three
// stages ran 573 TFLOP/s against two's 603 at 64K on an H200).
#define FORWARD_WS(NAME, D, STAGES)                                                                             \
  extern "C" __global__ void __launch_bounds__(384, 1)                                                          \
      attention_forward_hopper_##NAME##d##D(const __grid_constant__ CUtensorMap qmap,                                \
                                       const __grid_constant__ CUtensorMap kmap,                                \
                                       const __grid_constant__ CUtensorMap vmap, bf16* out, float* lse, int tq,  \
                                       int tk, int hq, int hkv, int causal, float scale) {                       \
    hopper_forward_ws<D, STAGES>(&qmap, &kmap, &vmap, out, lse, tq, tk, hq, hkv, causal, scale);                \
  }
FORWARD_WS(ws_, 64, 2)
FORWARD_WS(ws_, 128, 2)

// ---------------------------------------------------------------------------------------------------------------
// Backward: grid (ceil(tk/128), hkv, b), 256 threads. Warpgroup w owns keys 64w..64w+63 of the block's 128 and
// keeps their dK and dV in registers while the block walks over the query heads of its kv head and over query
// tiles of 64 (Q and dO double-buffered through the tensor memory accelerator, lse and delta beside them). Per
// tile:
//   Sᵀ = K_w·Qᵀ and dPᵀ = V_w·dOᵀ (shared memory both); Pᵀ = exp(Sᵀ·scale − lse); dSᵀ = Pᵀ ⊙ (dPᵀ − delta);
//   dV_w += Pᵀ·dO and dK_w += dSᵀ·Q (Pᵀ, dSᵀ from registers; dO, Q MN-major);
//   dQ += dS·K over the block's 128 keys, warpgroup w taking dQ's columns D/2·w.. (dSᵀ through shared memory,
//   read MN-major), added into the fp32 accumulator with vector atomics, since every key block adds to it.
// A backward block's dK (scaled) and dV from the accumulator layout, as bf16. The block alone owns its keys for kv
// head hk: plain stores.
template <int D>
__device__ __forceinline__ void store_dk_dv(bf16* dk, bf16* dv, const float* dkacc, const float* dvacc,
                                            const int* kj, int tk, int b, int hkv, int hk, int t, float scale) {
#pragma unroll
  for (int row = 0; row < 2; row++) {
    if (kj[row] >= tk) continue;
    const long long base = (((long long)b * tk + kj[row]) * hkv + hk) * D;
#pragma unroll
    for (int j = 0; j < D / 8; j++) {
      *reinterpret_cast<__nv_bfloat162*>(dk + base + 8 * j + 2 * t) =
          __floats2bfloat162_rn(dkacc[4 * j + 2 * row] * scale, dkacc[4 * j + 2 * row + 1] * scale);
      *reinterpret_cast<__nv_bfloat162*>(dv + base + 8 * j + 2 * t) =
          __floats2bfloat162_rn(dvacc[4 * j + 2 * row], dvacc[4 * j + 2 * row + 1]);
    }
  }
}

template <int D>
__device__ void hopper_backward(const CUtensorMap* qmap, const CUtensorMap* kmap, const CUtensorMap* vmap,
                                const CUtensorMap* dmap, const float* __restrict__ lse,
                                const float* __restrict__ delta, float* __restrict__ dq_acc, bf16* __restrict__ dk,
                                bf16* __restrict__ dv, int tq, int tk, int hq, int hkv, int causal, float scale) {
  constexpr int BK = 128, BQ = 64, KV_TILE = BK * D * 2, Q_TILE = BQ * D * 2;
  extern __shared__ unsigned char smem_raw[];
  unsigned char* Ks = align1024(smem_raw);
  unsigned char* Vs = Ks + KV_TILE;
  unsigned char* Qs = Vs + KV_TILE;        // two stages, then two of dO
  unsigned char* dOs = Qs + 2 * Q_TILE;
  unsigned char* dSt = dOs + 2 * Q_TILE;                                    // dSᵀ: 128 keys × 64 queries
  float(*lse_s)[BQ] = reinterpret_cast<float(*)[BQ]>(dSt + BK * BQ * 2);  // two stages
  float(*delta_s)[BQ] = lse_s + 2;
  uint64_t* bars = reinterpret_cast<uint64_t*>(delta_s + 2);  // K/V, then Q/dO of each stage

  const int b = blockIdx.z, hk = blockIdx.y, k0 = blockIdx.x * BK;
  const int group = hq / hkv;
  const int tid = threadIdx.x, wgi = tid >> 7, warp = (tid >> 5) & 3, lane = tid & 31, g = lane >> 2, t = lane & 3;
  const int r0 = 64 * wgi + 16 * warp + g;  // this thread's key rows in the block: r0 and r0 + 8
  const int kj[2] = {k0 + r0, k0 + r0 + 8};

  const int qt_begin = causal ? k0 / BQ : 0;
  const int qt_count = max(0, (tq + BQ - 1) / BQ - qt_begin);
  const int steps = group * qt_count;

  // Step i covers query head hk·group + i / qt_count and query tile qt_begin + i % qt_count.
  auto prefetch = [&](int i, int stage) {
    const int h = hk * group + i / qt_count, q0 = (qt_begin + i % qt_count) * BQ;
    if (tid == 0) {
      wg::barrier_expect(&bars[1 + stage], 2 * Q_TILE);
      wg::tma_tile<D>(Qs + stage * Q_TILE, qmap, BQ, q0, h, b, &bars[1 + stage]);
      wg::tma_tile<D>(dOs + stage * Q_TILE, dmap, BQ, q0, h, b, &bars[1 + stage]);
    }
    // lse and delta by asynchronous copies, so that no warp stalls on their loads (zeros past the end).
    if (tid < 2 * BQ) {
      const int j = tid & (BQ - 1);
      const bool in = q0 + j < tq;
      const float* src = (tid < BQ ? lse : delta) + ((long long)b * hq + h) * tq + (in ? q0 + j : 0);
      float* dst = tid < BQ ? &lse_s[stage][j] : &delta_s[stage][j];
      asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\ncp.async.commit_group;\n" ::"r"(wg::smem_addr(dst)),
                   "l"(src), "r"(in ? 4 : 0)
                   : "memory");
    }
  };

  if (tid == 0) {
    for (int i = 0; i < 3; i++) wg::barrier_init(&bars[i], 1);
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  }
  __syncthreads();
  if (tid == 0) {
    wg::barrier_expect(&bars[0], 2 * KV_TILE);
    wg::tma_tile<D>(Ks, kmap, BK, k0, hk, b, &bars[0]);
    wg::tma_tile<D>(Vs, vmap, BK, k0, hk, b, &bars[0]);
  }
  if (steps > 0) prefetch(0, 0);

  float dkacc[D / 2], dvacc[D / 2];
#pragma unroll
  for (int i = 0; i < D / 2; i++) dkacc[i] = dvacc[i] = 0.f;
  const float scale2 = scale * LOG2E;

  for (int i = 0; i < steps; i++) {
    const int stage = i & 1;
    const int h = hk * group + i / qt_count, q0 = (qt_begin + i % qt_count) * BQ;
    if (i == 0) wg::barrier_wait(&bars[0], 0);
    wg::barrier_wait(&bars[1 + stage], (i >> 1) & 1);
    asm volatile("cp.async.wait_all;\n" ::: "memory");
    __syncthreads();  // lse and delta of this step are in; every warp has left the previous step
    // The other stage (and lse, delta of it) was last read in the previous step.
    if (i + 1 < steps) prefetch(i + 1, stage ^ 1);

    float st[BQ / 2], dpt[BQ / 2];
    wg::fence();
#pragma unroll
    for (int kk = 0; kk < D / 16; kk++) {
      wg::mma_ss<BQ, 0, 0>(st, wg::desc_k_major(Ks, BK, 64 * wgi, kk), wg::desc_k_major((Qs + stage * Q_TILE), BQ, 0, kk), kk > 0);
    }
#pragma unroll
    for (int kk = 0; kk < D / 16; kk++) {
      wg::mma_ss<BQ, 0, 0>(dpt, wg::desc_k_major(Vs, BK, 64 * wgi, kk), wg::desc_k_major((dOs + stage * Q_TILE), BQ, 0, kk),
                           kk > 0);
    }
    wg::commit();
    wg::wait<0>();
    wg::hold<BQ / 2>(st);
    wg::hold<BQ / 2>(dpt);

    const bool needs_mask = q0 + BQ > tq || k0 + BK > tk || (causal && k0 + BK - 1 > q0);
#pragma unroll
    for (int j = 0; j < BQ / 8; j++) {
#pragma unroll
      for (int e = 0; e < 4; e++) {
        const int col = 8 * j + 2 * t + (e & 1);
        float pv = fast_exp2(fmaf(st[4 * j + e], scale2, -LOG2E * lse_s[stage][col]));
        if (needs_mask) {
          const int qi = q0 + col, row = e >> 1;
          if (qi >= tq || kj[row] >= tk || (causal && kj[row] > qi)) pv = 0.f;
        }
        st[4 * j + e] = pv;
        dpt[4 * j + e] = pv * (dpt[4 * j + e] - delta_s[stage][col]);
      }
    }
    unsigned pa[BQ / 16][4], sa[BQ / 16][4];
    to_a_fragments<BQ>(st, pa);
    to_a_fragments<BQ>(dpt, sa);
    wg::fence();
#pragma unroll
    for (int kk = 0; kk < BQ / 16; kk++) {
      wg::mma_rs<D, 1>(dvacc, pa[kk], wg::desc_mn_major((dOs + stage * Q_TILE), BQ, 0, kk), 1);
    }
#pragma unroll
    for (int kk = 0; kk < BQ / 16; kk++) {
      wg::mma_rs<D, 1>(dkacc, sa[kk], wg::desc_mn_major((Qs + stage * Q_TILE), BQ, 0, kk), 1);
    }
    wg::commit();
    // dSᵀ into shared memory (rows r0 and r0 + 8, the tile's 64 query columns) for the dQ product.
#pragma unroll
    for (int kk = 0; kk < BQ / 16; kk++) {
      const int c = 16 * kk + 2 * t;
      *reinterpret_cast<unsigned*>(dSt + wg::offset(BK, r0, c)) = sa[kk][0];
      *reinterpret_cast<unsigned*>(dSt + wg::offset(BK, r0 + 8, c)) = sa[kk][1];
      *reinterpret_cast<unsigned*>(dSt + wg::offset(BK, r0, c + 8)) = sa[kk][2];
      *reinterpret_cast<unsigned*>(dSt + wg::offset(BK, r0 + 8, c + 8)) = sa[kk][3];
    }
    wg::fence_shared();
    __syncthreads();

    constexpr int DN = D / 2;  // dQ columns of this warpgroup
    float dq[DN / 2];
    wg::fence();
#pragma unroll
    for (int kk = 0; kk < BK / 16; kk++) {
      wg::mma_ss<DN, 1, 1>(dq, wg::desc_mn_major(dSt, BK, 0, kk), wg::desc_mn_major(Ks, BK, DN * wgi, kk), kk > 0);
    }
    wg::commit();
    wg::wait<0>();
    wg::hold<DN / 2>(dq);
    wg::hold<D / 2>(dkacc);
    wg::hold<D / 2>(dvacc);
    // Four adjacent columns a vector atomic: lanes 2u and 2u + 1 swap halves, the even lane taking row g and the
    // odd one row g + 8.
    {
      const bool odd = t & 1;
      const int qi = q0 + 16 * warp + g + (odd ? 8 : 0);
      float* dst = dq_acc + (((long long)b * tq + qi) * hq + h) * D + DN * wgi + 2 * (t & ~1);
#pragma unroll
      for (int j = 0; j < DN / 8; j++) {
        const float r0 = __shfl_xor_sync(0xffffffffu, odd ? dq[4 * j] : dq[4 * j + 2], 1);
        const float r1 = __shfl_xor_sync(0xffffffffu, odd ? dq[4 * j + 1] : dq[4 * j + 3], 1);
        const float v0 = odd ? r0 : dq[4 * j], v1 = odd ? r1 : dq[4 * j + 1];
        const float v2 = odd ? dq[4 * j + 2] : r0, v3 = odd ? dq[4 * j + 3] : r1;
        if (qi < tq) {
          asm volatile("red.global.add.v4.f32 [%0], {%1, %2, %3, %4};\n" ::"l"(dst + 8 * j), "f"(v0 * scale),
                       "f"(v1 * scale), "f"(v2 * scale), "f"(v3 * scale)
                       : "memory");
        }
      }
    }
  }
  if (steps == 0) wg::barrier_wait(&bars[0], 0);  // no query tile to visit: let the K/V loads land

  store_dk_dv<D>(dk, dv, dkacc, dvacc, kj, tk, b, hkv, hk, t, scale);
}

// attention_backward_hopper_<NAME>d<D>: the backward FN<D> as a kernel of THREADS threads; every backward takes
// these arguments and writes these results.
#define BACKWARD(NAME, FN, THREADS, D)                                                                          \
  extern "C" __global__ void __launch_bounds__(THREADS, 1)                                                      \
      attention_backward_hopper_##NAME##d##D(                                                                   \
          const __grid_constant__ CUtensorMap qmap, const __grid_constant__ CUtensorMap kmap,                    \
          const __grid_constant__ CUtensorMap vmap, const __grid_constant__ CUtensorMap dmap, const float* lse,  \
          const float* delta, float* dq_acc, bf16* dk, bf16* dv, int tq, int tk, int hq, int hkv, int causal,    \
          float scale) {                                                                                         \
    FN<D>(&qmap, &kmap, &vmap, &dmap, lse, delta, dq_acc, dk, dv, tq, tk, hq, hkv, causal, scale);               \
  }
BACKWARD(, hopper_backward, 256, 128)


// ---------------------------------------------------------------------------------------------------------------
// Backward "tiled" (attention_backward_hopper_tiled_d<D>, the default): warp-specialized after
// FlashAttention-3's sm90 backward (hopper/mainloop_bwd_sm90_tma_gmma_ws.hpp, flash_bwd_kernel_sm90.h), with its
// tile-ordered dQ accumulator (below). Grid, work split and arguments as hopper_backward above; the fp32 dQ
// accumulator's layout is its own. 384 threads in three roles, so that no MMA warp waits on a load or a reduction:
//   warpgroup 0, 24 registers a thread: warp 0 loads the block's K and V once, and per step Q by the tensor
//     memory accelerator with lse by 4-byte asynchronous copies, and dO the same way; warp 2 copies delta beside
//     dO (with both rows' pointers warp 0's 24 registers spilled). Q+lse and dO+delta have separate full/empty
//     mbarrier pipelines of two stages (FA3's two), so that S waits only for Q and dO's stage is refilled as soon
//     as dP, dV and dSᵀ are done. Warp 1 adds each warpgroup's half of the step's dQ tile into the global
//     accumulator with one 16 KB bulk reduction (`cp.reduce.async.bulk`); warp 3 leaves at once.
//   warpgroups 1 and 2, 240 registers: keys 64w..64w+63 of the block's 128. Sᵀ = K_w·Qᵀ and dPᵀ = V_w·dOᵀ as
//     m64n64 from shared memory (the warpgroup's rows are keys, so that Pᵀ and dSᵀ come out of the accumulators
//     in the A-fragment shape the dV and dK products need); dV += Pᵀ·dO is issued as soon as Pᵀ exists and runs
//     under dSᵀ's arithmetic; dSᵀ goes to shared memory by stmatrix (two buffers), since dQ = dS·K needs all 128
//     keys: each warpgroup takes D/2 of dQ's columns, both operands from shared memory, after one named barrier
//     that joins the two warpgroups (dSᵀ stored). dQ's product is issued before dK += dSᵀ·Q (dSᵀ from
//     registers), so that dK keeps the tensor cores busy while dQ is scaled and handed to the dQ warp through the
//     warpgroup's own full/empty named barriers (a warpgroup waits for the other only where the data demands it).
// Where FA3 differs and this kernel does not follow: FA3 pre-multiplies lse by log2 e in its preprocess kernel
// (here 16 multiplies a step); a block here walks the query heads of its kv head (GQA without fp32 dK/dV
// accumulators or atomics); masks only on the tiles that need them; dSᵀ stored as is (MN-major for dQ's A)
// rather than transposed to K-major, wgmma reads either. The block order (heaviest key blocks first, across
// heads) is FA3's LPT order. The kernel log in benchmarks.md (v8) has what each of these steps gave.
//
// Head size 64 (attention_backward_hopper_tiled_d64): a 64-column dQ cannot be halved by columns (a half would
// start mid-way through a 128-byte swizzled row), so it is split over keys: each warpgroup multiplies its own 64
// keys' dSᵀ by those keys' rows of K into a whole 64 × 64 partial dQ, and the dQ warp adds both partials into the
// same tile of the accumulator. Each warpgroup then reads only the dSᵀ it wrote: no barrier between them.
// Named barriers (besides 0): 1 = both MMA warpgroups have stored their dSᵀ (head size 128); 2 + w = warpgroup w's
// half (head size 64: partial) of the dQ tile is written (its warps arrive, the dQ warp waits); 4 + w = that half
// may be written again (the dQ warp arrives once its reductions have read the tile); 6 + w = warpgroup w's dSᵀ
// is stored (head size 64).
namespace btl {

constexpr int DS_READY = 1, DQ_FULL = 2, DQ_EMPTY = 4, DS_OWN = 6;  // DQ_FULL + w etc.: warpgroup w's
constexpr int MMA_THREADS = 256, HALF_THREADS = 128 + 32;

// A 4-byte asynchronous copy, zeros where !valid.
__device__ __forceinline__ void copy4(float* dst, const float* src, bool valid) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(wg::smem_addr(dst)), "l"(src),
               "r"(valid ? 4 : 0)
               : "memory");
}

// A query tile's 64 values of a per-query fp32 row (lse or delta) by the warp's 4-byte asynchronous copies, zeros
// past tq, each lane's arriving on `full` when they land.
__device__ __forceinline__ void copy_query_stats(float* dst, const float* row, int q0, int tq, int lane,
                                                 uint64_t* full) {
#pragma unroll
  for (int u = 0; u < 2; u++) {
    const int j = q0 + lane + 32 * u;
    const bool in = j < tq;
    copy4(&dst[lane + 32 * u], row + (in ? j : 0), in);
  }
  asm volatile("cp.async.mbarrier.arrive.noinc.shared::cta.b64 [%0];\n" ::"r"(wg::smem_addr(full)) : "memory");
}

__device__ __forceinline__ void reduce_add(float* dst, const void* src, int bytes) {
  asm volatile("cp.reduce.async.bulk.global.shared::cta.bulk_group.add.f32 [%0], [%1], %2;\n" ::"l"(dst),
               "r"(wg::smem_addr(src)), "r"(bytes)
               : "memory");
}

// Four 8×8 bf16 matrices from accumulator-layout pairs; lanes 8m..8m+7 give the row addresses of matrix m.
__device__ __forceinline__ void stmatrix_x4(uint32_t addr, const unsigned* r) {
  asm volatile("stmatrix.sync.aligned.m8n8.x4.shared.b16 [%0], {%1, %2, %3, %4};\n" ::"r"(addr), "r"(r[0]),
               "r"(r[1]), "r"(r[2]), "r"(r[3])
               : "memory");
}

// Descriptors (wgmma.cuh's layouts, 128-byte swizzle) from a tile's start in 16-byte units: the low word holds
// the start and the leading offset, the high word the stride offset (1024 bytes) and the swizzle mode, the same
// for every tile. k-step kk of a K-major tile of `rows` rows, and of an MN-major one.
__device__ __forceinline__ uint64_t desc_of(uint32_t lo) {
  return (uint64_t)lo | ((uint64_t)((1024 >> 4) | (1u << 30)) << 32);
}
__device__ __forceinline__ uint64_t kmaj(uint32_t start16, int rows, int kk) {
  return desc_of(start16 + (((kk >> 2) * rows * 128 + (kk & 3) * 32) >> 4) + (1u << 16));
}
__device__ __forceinline__ uint64_t mnmaj(uint32_t start16, int rows, int kk) {
  return desc_of(start16 + kk * 16 * 128 / 16 + ((uint32_t)(rows * 128 >> 4) << 16));
}

// Key blocks outermost across the heads, heaviest (most query tiles under a causal mask) first.
template <int BK, int BQ>
__device__ __forceinline__ void walk(int tq, int hq, int hkv, int causal, int& b, int& hk, int& k0, int& group,
                                     int& qt_begin, int& qt_end, int& steps) {
  const int lin = blockIdx.x + gridDim.x * blockIdx.y;
  b = blockIdx.z, hk = lin % gridDim.y, k0 = lin / gridDim.y * BK;
  group = hq / hkv;
  qt_begin = causal ? k0 / BQ : 0;
  const int qt_count = max(0, (tq + BQ - 1) / BQ - qt_begin);
  qt_end = qt_begin + qt_count;
  steps = group * qt_count;
}

}  // namespace btl

template <int D>
__device__ void hopper_backward_tiled(const CUtensorMap* qmap, const CUtensorMap* kmap, const CUtensorMap* vmap,
                                   const CUtensorMap* dmap, const float* __restrict__ lse,
                                   const float* __restrict__ delta, float* __restrict__ dq_acc,
                                   bf16* __restrict__ dk, bf16* __restrict__ dv, int tq, int tk, int hq, int hkv,
                                   int causal, float scale) {
  static_assert(D == 64 || D == 128, "the tiled backward is written for head sizes 64 and 128");
  constexpr bool SPLIT_KEYS = D == 64;  // see above: each warpgroup a partial dQ over its own keys
  constexpr int BK = 128, BQ = 64, STAGES = 2;
  constexpr int KV_TILE = BK * D * 2, Q_TILE = BQ * D * 2, DS_TILE = BK * BQ * 2;
  constexpr int DQ_COLS = SPLIT_KEYS ? D : D / 2;  // dQ columns of one warpgroup
  constexpr int DQ_HALF = BQ * DQ_COLS * 4;  // one warpgroup's half (or partial) of the dQ tile, one bulk reduction
  constexpr int DQ_BYTES = 2 * DQ_HALF;
  extern __shared__ unsigned char smem_raw[];
  unsigned char* Ks = align1024(smem_raw);
  unsigned char* Vs = Ks + KV_TILE;
  unsigned char* Qs = Vs + KV_TILE;             // STAGES stages
  unsigned char* dOs = Qs + STAGES * Q_TILE;    // STAGES stages
  unsigned char* dSts = dOs + STAGES * Q_TILE;  // dSᵀ (128 keys × 64 queries), two buffers
  unsigned char* dQs = dSts + 2 * DS_TILE;      // BQ rows × D fp32; warpgroup w writes columns DQ_COLS·w..
  float(*lse_s)[BQ] = reinterpret_cast<float(*)[BQ]>(dQs + DQ_BYTES);  // STAGES stages
  float(*delta_s)[BQ] = lse_s + STAGES;
  uint64_t* kv_full = reinterpret_cast<uint64_t*>(delta_s + STAGES);
  uint64_t* full_q = kv_full + 1;  // Q and lse of a stage landed
  uint64_t* full_do = full_q + STAGES;  // dO and delta
  uint64_t* empty_q = full_do + STAGES;  // the 8 MMA warps are done with Q and lse
  uint64_t* empty_do = empty_q + STAGES;  // with dO and delta

  const int tid = threadIdx.x, lane = tid & 31;
  if (tid == 0) {
    wg::barrier_init(kv_full, 1);
    for (int s = 0; s < STAGES; s++) {
      wg::barrier_init(&full_q[s], 1 + 32);  // lane 0's expect-bytes arrival, every lane's copies landing
      wg::barrier_init(&full_do[s], 1 + 32);
      wg::barrier_init(&empty_q[s], 8);
      wg::barrier_init(&empty_do[s], 8);
    }
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  }
  __syncthreads();

  if (tid < 128) {
    asm volatile("setmaxnreg.dec.sync.aligned.u32 24;\n" ::: "memory");
    const int warp = tid >> 5;
    int b, hk, k0, group, qt_begin, qt_end, steps;
    btl::walk<BK, BQ>(tq, hq, hkv, causal, b, hk, k0, group, qt_begin, qt_end, steps);
    if (warp == 0 && steps > 0) {
      if (lane == 0) {
        wg::barrier_expect(kv_full, 2 * KV_TILE);
        wg::tma_tile<D>(Ks, kmap, BK, k0, hk, b, kv_full);
        wg::tma_tile<D>(Vs, vmap, BK, k0, hk, b, kv_full);
      }
      // Q and dO by the tensor memory accelerator (lane 0), lse by 4-byte asynchronous copies (every lane, two
      // rows each, zeros past the end), which arrive on Q's barrier when they land.
      const float* lrow = lse + ((long long)b * hq + hk * group) * tq;
      int h = hk * group, qt = qt_begin;
      for (int i = 0; i < steps; i++) {
        const int s = i % STAGES;
        const uint32_t free_parity = ((i / STAGES) & 1) ^ 1;  // passes at once on a fresh barrier
        wg::barrier_wait(&empty_q[s], free_parity);
        if (lane == 0) {
          wg::barrier_expect(&full_q[s], Q_TILE);
          wg::tma_tile<D>(Qs + s * Q_TILE, qmap, BQ, qt * BQ, h, b, &full_q[s]);
        }
        btl::copy_query_stats(lse_s[s], lrow, qt * BQ, tq, lane, &full_q[s]);
        wg::barrier_wait(&empty_do[s], free_parity);
        if (lane == 0) {
          wg::barrier_expect(&full_do[s], Q_TILE);
          wg::tma_tile<D>(dOs + s * Q_TILE, dmap, BQ, qt * BQ, h, b, &full_do[s]);
        }
        if (++qt == qt_end) qt = qt_begin, h++, lrow += tq;
      }
    } else if (warp == 2 && steps > 0) {
      // delta beside dO, from a warp of its own: with lse's copies too, warp 0's 24 registers spilled.
      const float* drow = delta + ((long long)b * hq + hk * group) * tq;
      int qt = qt_begin;
      for (int i = 0; i < steps; i++) {
        const int s = i % STAGES;
        wg::barrier_wait(&empty_do[s], ((i / STAGES) & 1) ^ 1);
        btl::copy_query_stats(delta_s[s], drow, qt * BQ, tq, lane, &full_do[s]);
        if (++qt == qt_end) qt = qt_begin, drow += tq;
      }
    } else if (warp == 1) {
      int h = hk * group, qt = qt_begin;
      for (int i = 0; i < steps; i++) {
        // Both halves free (the previous step's reductions have read them), then both written.
        wg::named_arrive(btl::DQ_EMPTY + 0, btl::HALF_THREADS);
        wg::named_arrive(btl::DQ_EMPTY + 1, btl::HALF_THREADS);
        // Each half goes as soon as its warpgroup has written it: the other may still be a step's MMAs behind.
        // Rows past tq add zeros (their P, hence dS, was masked to 0) that the conversion never reads. Head size
        // 64's two partials both add into the whole tile.
        float* tile = dq_acc + (((long long)b * hq + h) * ((tq + BQ - 1) / BQ) + qt) * (BQ * D);
#pragma unroll
        for (int half = 0; half < 2; half++) {
          wg::named_sync(btl::DQ_FULL + half, btl::HALF_THREADS);
          if (lane == 0) {
            btl::reduce_add(tile + (SPLIT_KEYS ? 0 : half * (DQ_HALF / 4)), dQs + half * DQ_HALF, DQ_HALF);
          }
        }
        asm volatile("cp.async.bulk.commit_group;\n" ::: "memory");
        asm volatile("cp.async.bulk.wait_group.read 0;\n" ::: "memory");
        // Only lane 0's group holds reductions: no lane may free the halves (next DQ_EMPTY) before its wait.
        __syncwarp();
        if (++qt == qt_end) qt = qt_begin, h++;
      }
      asm volatile("cp.async.bulk.wait_group 0;\n" ::: "memory");
    }
    return;
  }

  asm volatile("setmaxnreg.inc.sync.aligned.u32 240;\n" ::: "memory");
  int b, hk, k0, group, qt_begin, qt_end, steps;
  btl::walk<BK, BQ>(tq, hq, hkv, causal, b, hk, k0, group, qt_begin, qt_end, steps);
  const int w = (tid >> 7) - 1, warp = (tid >> 5) & 3, g = lane >> 2, t = lane & 3;
  // Registers are what this loop is short of (ptxas spilled with more kept live): what only the masked tiles or
  // the epilogue need is worked out there again, not kept.
  const int kj0 = k0 + 64 * w + 16 * warp + g;  // this thread's first key row (the second is kj0 + 8)
  const int mask_below = k0 + 64 * w + 64 > tk ? INT_MAX : causal ? k0 + 64 * w + 63 : INT_MIN;
  // stmatrix: lane L names row L % 8 of matrix L / 8 — rows +8 for the odd matrices, columns +8 for the upper two.
  // Row starts are 128-byte aligned, so the swizzled chunk (2kk + L / 16) ^ (L % 8) is the row address with bits
  // 4–6 set to (L / 16) ^ (L % 8), then XORed with kk << 5.
  const uint32_t st_addr = wg::smem_addr(dSts) + (64 * w + 16 * warp + (lane & 7) + ((lane >> 3) & 1) * 8) * 128 +
                           (((lane >> 4) ^ (lane & 7)) << 4);

  float dkacc[D / 2], dvacc[D / 2];
#pragma unroll
  for (int i = 0; i < D / 2; i++) dkacc[i] = dvacc[i] = 0.f;
  const float scale2 = scale * LOG2E;
  if (steps > 0) wg::barrier_wait(kv_full, 0);
  // Descriptors as 32-bit low words off one base (every tile sits at a fixed offset from Ks): the high word is
  // the same constant for all of them, so the loop keeps 2 registers for them instead of 16.
  const uint32_t base16 = wg::smem_addr(Ks) >> 4;
  const uint32_t kv_rows = base16 + w * (64 * 128 / 16);  // this warpgroup's 64 key rows of K (V: + KV_TILE)
  // K's columns DQ_COLS·w.. (one 64-column block); head size 64: all of K's columns, one block.
  const uint32_t k_cols = base16 + (SPLIT_KEYS ? 0 : w * (BK * 128 / 16));

  int qt = qt_begin;
  for (int i = 0; i < steps; i++) {
    const int s = i % STAGES, q0 = qt * BQ;
    const uint32_t parity = (i / STAGES) & 1;
    if (++qt == qt_end) qt = qt_begin;
    const uint32_t q16 = base16 + (2 * KV_TILE + s * Q_TILE) / 16;  // dO: + STAGES·Q_TILE
    const uint32_t dst16 = base16 + (2 * KV_TILE + 2 * STAGES * Q_TILE + (i & 1) * DS_TILE) / 16;

    float st[BQ / 2], dpt[BQ / 2];
    wg::barrier_wait(&full_q[s], parity);
    wg::fence();
#pragma unroll
    for (int kk = 0; kk < D / 16; kk++) {
      wg::mma_ss<BQ, 0, 0>(st, btl::kmaj(kv_rows, BK, kk), btl::kmaj(q16, BQ, kk), kk > 0);
    }
    wg::commit();
    wg::barrier_wait(&full_do[s], parity);
    wg::fence();  // as FA3 before every product; ptxas otherwise injects one after the wait's branch
#pragma unroll
    for (int kk = 0; kk < D / 16; kk++) {
      wg::mma_ss<BQ, 0, 0>(dpt, btl::kmaj(kv_rows + KV_TILE / 16, BK, kk),
                           btl::kmaj(q16 + STAGES * Q_TILE / 16, BQ, kk), kk > 0);
    }
    wg::commit();
    wg::wait<1>();  // Sᵀ is in; dPᵀ may still run
    wg::hold<BQ / 2>(st);

    const bool needs_mask = q0 < mask_below || q0 + BQ > tq;
#pragma unroll
    for (int j = 0; j < BQ / 8; j++) {
      const float2 l = *reinterpret_cast<const float2*>(&lse_s[s][8 * j + 2 * t]);
      const float l2[2] = {l.x * LOG2E, l.y * LOG2E};
#pragma unroll
      for (int e = 0; e < 4; e++) {
        float pv = fast_exp2(fmaf(st[4 * j + e], scale2, -l2[e & 1]));
        if (needs_mask) {
          const int qi = q0 + 8 * j + 2 * t + (e & 1), kj = kj0 + 8 * (e >> 1);
          if (kj >= tk || (causal && qi < kj) || qi >= tq) pv = 0.f;
        }
        st[4 * j + e] = pv;
      }
    }
    // dV += Pᵀ·dO (Pᵀ from registers, dO MN-major) runs while dSᵀ is worked out.
    unsigned pa[BQ / 16][4];
    to_a_fragments<BQ>(st, pa);
    wg::fence();
#pragma unroll
    for (int kk = 0; kk < BQ / 16; kk++) {
      wg::mma_rs<D, 1>(dvacc, pa[kk], btl::mnmaj(q16 + STAGES * Q_TILE / 16, BQ, kk), 1);
    }
    wg::commit();
    wg::wait<1>();  // dPᵀ is in; dV's MMAs may still run
    wg::hold<BQ / 2>(dpt);
#pragma unroll
    for (int j = 0; j < BQ / 8; j++) {
      const float2 dl = *reinterpret_cast<const float2*>(&delta_s[s][8 * j + 2 * t]);
#pragma unroll
      for (int e = 0; e < 4; e++) dpt[4 * j + e] = st[4 * j + e] * (dpt[4 * j + e] - ((e & 1) ? dl.y : dl.x));
    }
    unsigned sa[BQ / 16][4];
    to_a_fragments<BQ>(dpt, sa);
    // dSᵀ into this step's buffer for the dQ product: k-step kk's four fragments are the 8×8 matrices (this
    // thread's first / second key row) × (columns 16kk / 16kk + 8). The buffer was last read by step i − 2's dQ
    // MMAs, which both warpgroups (head size 64: this one) waited for before step i − 1's barrier.
    {
      const uint32_t base = st_addr + (i & 1) * DS_TILE;
#pragma unroll
      for (int kk = 0; kk < BQ / 16; kk++) btl::stmatrix_x4(base ^ (kk << 5), sa[kk]);
    }
    wg::fence_shared();
    if constexpr (SPLIT_KEYS) {
      wg::named_sync(btl::DS_OWN + w, 128);
    } else {
      wg::named_sync(btl::DS_READY, btl::MMA_THREADS);
    }

    // dQ first, then dK (dSᵀ from registers, Q MN-major): dK's MMAs keep the tensor cores busy while dQ is
    // scaled and handed to the dQ warp. Over all 128 keys, or (head size 64) this warpgroup's 64.
    float dq[DQ_COLS / 2];
    wg::fence();
#pragma unroll
    for (int kk = 0; kk < (SPLIT_KEYS ? BK / 32 : BK / 16); kk++) {
      const int kq = SPLIT_KEYS ? 4 * w + kk : kk;
      wg::mma_ss<DQ_COLS, 1, 1>(dq, btl::mnmaj(dst16, BK, kq), btl::mnmaj(k_cols, BK, kq), kk > 0);
    }
    wg::commit();
#pragma unroll
    for (int kk = 0; kk < BQ / 16; kk++) {
      wg::mma_rs<D, 1>(dkacc, sa[kk], btl::mnmaj(q16, BQ, kk), 1);
    }
    wg::commit();
    wg::wait<1>();  // dV and dQ are done; dK may still run
    wg::hold<DQ_COLS / 2>(dq);
    wg::hold<D / 2>(dvacc);
    __syncwarp();
    if (lane == 0) wg::barrier_arrive(&empty_do[s]);  // dO and delta: last read by dPᵀ, dV and dSᵀ

    wg::named_sync(btl::DQ_EMPTY + w, btl::HALF_THREADS);
    // Fragment order: column block j of thread x (0..127 in the warpgroup) is float4 128·j + x of the half,
    // so a warp's store fills 512 contiguous bytes (no bank conflict, no padding) and the half is one
    // contiguous 16 KB for a single bulk reduction. attention_backward_dq_tiles_d* undoes it.
    float4* p = reinterpret_cast<float4*>(dQs + w * DQ_HALF) + (tid & 127);
#pragma unroll
    for (int j = 0; j < DQ_COLS / 8; j++) {
      p[128 * j] = make_float4(dq[4 * j] * scale, dq[4 * j + 1] * scale, dq[4 * j + 2] * scale,
                               dq[4 * j + 3] * scale);
    }
    wg::fence_shared();  // the bulk reductions read the tile through the async proxy
    wg::named_arrive(btl::DQ_FULL + w, btl::HALF_THREADS);

    wg::wait<0>();
    wg::hold<D / 2>(dkacc);
    __syncwarp();
    if (lane == 0) wg::barrier_arrive(&empty_q[s]);  // Q and lse: last read by Sᵀ, Pᵀ and dK
  }

  // The block's coordinates again, rather than kept live through the loop beside the accumulators.
  btl::walk<BK, BQ>(tq, hq, hkv, causal, b, hk, k0, group, qt_begin, qt_end, steps);
  const int kj[2] = {k0 + 64 * w + 16 * warp + g, k0 + 64 * w + 16 * warp + g + 8};
  store_dk_dv<D>(dk, dv, dkacc, dvacc, kj, tk, b, hkv, hk, t, scale);
}

// The dQ accumulator (head size 128; 64 below): a bulk reduction is a transaction for the bulk-copy unit to set
// up and L2 to apply, and one a row of the row-ordered [b, tq, hq, D] layout, 64 a step, kept a dQ warp behind
// (the ws backward of the kernel log); FA3 issues one of 16 KB per warpgroup. For that the global accumulator
// holds each warpgroup's half of a tile in the order it sits in shared memory:
//   [b][hq][ceil(tq / 64)][2 halves][64 query rows × 64 columns, as 8 × 128 float4]
// where float4 128·j + x of half w is column block j (columns 64w + 8j + 2t, +1) of MMA thread x (warp x / 32,
// g = x % 32 / 4, t = x % 4) for query rows 16·warp + g (.x, .y) and + 8 (.z, .w): the wgmma accumulator
// registers dq[4j .. 4j + 3] of that thread, stored as one float4. b·hq·ceil(tq / 64)·64·128 floats in all,
// zeroed by the caller; rows past tq of the last tile receive zeros and are never read. GQA needs nothing more:
// the block of a kv head walks the query heads of its group and adds into each one's tiles. The caller then
// runs attention_backward_dq_tiles_d128 in place of attention_backward_dq. Head size 64: one half a tile,
//   [b][hq][ceil(tq / 64)][64 query rows × 64 columns, as 8 × 128 float4]
// with column block j of thread x holding columns 8j + 2t, +1 (both warpgroups' partials add into it).
BACKWARD(tiled_, hopper_backward_tiled, 384, 64)
BACKWARD(tiled_, hopper_backward_tiled, 384, 128)

// The tiled backward's dQ accumulator (above) to bf16 dq [b, tq, hq, D]; grid (ceil(tq / 64), hq, b), 256
// threads. Through shared memory so that both sides stay contiguous: a warp reads 512 bytes of a half in its
// order and writes one row of dq. Rows padded by 8 floats: a half-warp's float2 stores then touch rows
// g = 0..3 at banks 8g + 2t, all 32 distinct.
template <int D>
__device__ void dq_tiles(const float* __restrict__ acc, bf16* __restrict__ dq, int tq, int hq) {
  constexpr int BQ = 64, ROW = D + 8, THREADS = 256, PER_LANE = D / 32;
  __shared__ __align__(16) float tile[BQ * ROW];
  const int qt = blockIdx.x, h = blockIdx.y, b = blockIdx.z, tiles = (tq + BQ - 1) / BQ;
  const float4* src = reinterpret_cast<const float4*>(acc) + (((long long)b * hq + h) * tiles + qt) * (BQ * D / 4);
#pragma unroll
  for (int i = 0; i < BQ * D / 4 / THREADS; i++) {
    const int f = threadIdx.x + THREADS * i;
    const int half = f >> 10, j = (f >> 7) & 7, x = f & 127;
    const int row = 16 * (x >> 5) + ((x & 31) >> 2), col = 64 * half + 8 * j + 2 * (x & 3);
    const float4 v = src[f];
    *reinterpret_cast<float2*>(&tile[row * ROW + col]) = make_float2(v.x, v.y);
    *reinterpret_cast<float2*>(&tile[(row + 8) * ROW + col]) = make_float2(v.z, v.w);
  }
  __syncthreads();
  const int lane = threadIdx.x & 31;
  for (int row = threadIdx.x >> 5; row < BQ && qt * BQ + row < tq; row += THREADS / 32) {
    const float* r = &tile[row * ROW + PER_LANE * lane];
    bf16* out = dq + (((long long)b * tq + qt * BQ + row) * hq + h) * D + PER_LANE * lane;
    if constexpr (PER_LANE == 4) {
      const float4 v = *reinterpret_cast<const float4*>(r);
      *reinterpret_cast<uint2*>(out) = make_uint2(pack(v.x, v.y), pack(v.z, v.w));
    } else {
      const float2 v = *reinterpret_cast<const float2*>(r);
      *reinterpret_cast<unsigned*>(out) = pack(v.x, v.y);
    }
  }
}

#define DQ_TILES(D)                                                                                             \
  extern "C" __global__ void __launch_bounds__(256)                                                             \
      attention_backward_dq_tiles_d##D(const float* __restrict__ acc, bf16* __restrict__ dq, int tq, int hq) {   \
    dq_tiles<D>(acc, dq, tq, hq);                                                                                \
  }
DQ_TILES(64)
DQ_TILES(128)
