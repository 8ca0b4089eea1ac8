// Checks the wgmma operand layouts of kernels/wgmma.cuh against a host reference on random inputs: the three
// shapes attention needs (Q·Kᵀ K-major both; P·V with P from registers, V MN-major; dS·K with both MN-major),
// and the MN-major descriptor with its two byte offsets in either order. Build and run on a Hopper GPU:
//   nvcc -arch=sm_90a -std=c++17 -I kernels -o wgmma_probe bench/wgmma_probe.cu && ./wgmma_probe
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <vector>
#include "wgmma.cuh"

// One warpgroup. q [64][128], k [128][128], p [64][64], v [64][128], dst [128][64] (dSᵀ), all row-major bf16.
// c1 [64][128] = q·kᵀ; c2 [64][128] = p·v; c3 [64][64] = dst_transposed · k[:, 64:128]; `swap` exchanges the
// MN-major descriptor's two byte offsets.
__global__ void probe(const bf16* q, const bf16* k, const bf16* p, const bf16* v, const bf16* dst, float* c1,
                      float* c2, float* c3, int swap) {
  extern __shared__ unsigned char raw[];
  unsigned char* base = (unsigned char*)(((uintptr_t)raw + 1023) & ~(uintptr_t)1023);
  unsigned char* Qs = base;                 // 64 × 128: 16 KB
  unsigned char* Ks = Qs + 64 * 256;        // 128 × 128: 32 KB
  unsigned char* Vs = Ks + 128 * 256;       // 64 × 128: 16 KB
  unsigned char* Ds = Vs + 64 * 256;        // 128 × 64: 16 KB
  const int tid = threadIdx.x;
  wg::load_tile_async<128>(Qs, q, 0, 64, 64, 1, 0, tid, 128);
  wg::load_tile_async<128>(Ks, k, 0, 128, 128, 1, 0, tid, 128);
  wg::load_tile_async<128>(Vs, v, 0, 64, 64, 1, 0, tid, 128);
  wg::load_tile_async<64>(Ds, dst, 0, 128, 128, 1, 0, tid, 128);
  asm volatile("cp.async.commit_group;\ncp.async.wait_group 0;\n" ::: "memory");
  wg::fence_shared();
  __syncthreads();
  const int warp = tid >> 5, lane = tid & 31, g = lane >> 2, t = lane & 3;

  float a1[64], a2[64], a3[32];
  for (int i = 0; i < 64; i++) a1[i] = a2[i] = 0.f;
  for (int i = 0; i < 32; i++) a3[i] = 0.f;
  unsigned pa[4][4];
  for (int kk = 0; kk < 4; kk++) {
    auto at = [&](int r, int c) {
      __nv_bfloat162 x;
      x.x = p[r * 64 + c];
      x.y = p[r * 64 + c + 1];
      return *reinterpret_cast<unsigned*>(&x);
    };
    const int r = 16 * warp + g, c = 16 * kk + 2 * t;
    pa[kk][0] = at(r, c);
    pa[kk][1] = at(r + 8, c);
    pa[kk][2] = at(r, c + 8);
    pa[kk][3] = at(r + 8, c + 8);
  }
  const uint32_t big = swap ? 1024 : 0, small = swap ? 0 : 1024;  // MN-major (lbo, sbo) = (block, 1024) or swapped
  wg::fence();
  for (int kk = 0; kk < 8; kk++) {
    wg::wgmma_ss_n128<0, 0>(a1, wg::desc_k_major(Qs, 64, 0, kk), wg::desc_k_major(Ks, 128, 0, kk), 1);
  }
  for (int kk = 0; kk < 4; kk++) {
    const unsigned char* at = Vs + kk * 16 * 128;
    const uint32_t blk = 64 * 128;
    wg::wgmma_rs_n128<1>(a2, pa[kk], wg::desc(at, swap ? 1024 : blk, swap ? blk : 1024), 1);
  }
  for (int kk = 0; kk < 8; kk++) {
    const uint32_t blk = 128 * 128;
    const uint64_t da = wg::desc(Ds + kk * 16 * 128, swap ? 1024 : blk, swap ? blk : 1024);
    const uint64_t db = wg::desc(Ks + 1 * 128 * 128 + kk * 16 * 128, swap ? 1024 : blk, swap ? blk : 1024);
    wg::wgmma_ss_n64<1, 1>(a3, da, db, 1);
  }
  (void)big;
  (void)small;
  wg::commit();
  wg::wait<0>();
  for (int j = 0; j < 16; j++)
    for (int e = 0; e < 4; e++) {
      const int r = 16 * warp + g + 8 * (e >> 1), c = 8 * j + 2 * t + (e & 1);
      c1[r * 128 + c] = a1[4 * j + e];
      c2[r * 128 + c] = a2[4 * j + e];
      if (j < 8) c3[r * 64 + c] = a3[4 * j + e];
    }
}

static float bf(unsigned short h) {
  unsigned u = (unsigned)h << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}

int main() {
  srand(7);
  auto rnd = [](size_t n, std::vector<unsigned short>& h) {
    h.resize(n);
    for (auto& x : h) {
      float f = (rand() / (float)RAND_MAX) * 2.f - 1.f;
      unsigned u;
      memcpy(&u, &f, 4);
      x = (unsigned short)(u >> 16);
    }
  };
  std::vector<unsigned short> hq, hk, hp, hv, hd;
  rnd(64 * 128, hq), rnd(128 * 128, hk), rnd(64 * 64, hp), rnd(64 * 128, hv), rnd(128 * 64, hd);
  bf16 *q, *k, *p, *v, *d;
  float *c1, *c2, *c3;
  cudaMalloc(&q, hq.size() * 2), cudaMalloc(&k, hk.size() * 2), cudaMalloc(&p, hp.size() * 2);
  cudaMalloc(&v, hv.size() * 2), cudaMalloc(&d, hd.size() * 2);
  cudaMalloc(&c1, 64 * 128 * 4), cudaMalloc(&c2, 64 * 128 * 4), cudaMalloc(&c3, 64 * 64 * 4);
  cudaMemcpy(q, hq.data(), hq.size() * 2, cudaMemcpyHostToDevice);
  cudaMemcpy(k, hk.data(), hk.size() * 2, cudaMemcpyHostToDevice);
  cudaMemcpy(p, hp.data(), hp.size() * 2, cudaMemcpyHostToDevice);
  cudaMemcpy(v, hv.data(), hv.size() * 2, cudaMemcpyHostToDevice);
  cudaMemcpy(d, hd.data(), hd.size() * 2, cudaMemcpyHostToDevice);
  const int smem = 80 * 1024 + 1024;
  cudaFuncSetAttribute(probe, cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
  int failures = 0;
  for (int swap = 0; swap < 2; swap++) {
    probe<<<1, 128, smem>>>(q, k, p, v, d, c1, c2, c3, swap);
    cudaError_t err = cudaDeviceSynchronize();
    if (err != cudaSuccess) {
      printf("swap=%d: %s\n", swap, cudaGetErrorString(err));
      return 2;
    }
    std::vector<float> r1(64 * 128), r2(64 * 128), r3(64 * 64);
    cudaMemcpy(r1.data(), c1, r1.size() * 4, cudaMemcpyDeviceToHost);
    cudaMemcpy(r2.data(), c2, r2.size() * 4, cudaMemcpyDeviceToHost);
    cudaMemcpy(r3.data(), c3, r3.size() * 4, cudaMemcpyDeviceToHost);
    double e1 = 0, e2 = 0, e3 = 0, n1 = 0, n2 = 0, n3 = 0;
    for (int i = 0; i < 64; i++)
      for (int j = 0; j < 128; j++) {
        double s1 = 0, s2 = 0;
        for (int x = 0; x < 128; x++) s1 += (double)bf(hq[i * 128 + x]) * bf(hk[j * 128 + x]);
        for (int x = 0; x < 64; x++) s2 += (double)bf(hp[i * 64 + x]) * bf(hv[x * 128 + j]);
        e1 = fmax(e1, fabs(s1 - r1[i * 128 + j])), n1 = fmax(n1, fabs(s1));
        e2 = fmax(e2, fabs(s2 - r2[i * 128 + j])), n2 = fmax(n2, fabs(s2));
        if (j < 64) {
          double s3 = 0;
          for (int x = 0; x < 128; x++) s3 += (double)bf(hd[x * 64 + i]) * bf(hk[x * 128 + 64 + j]);
          e3 = fmax(e3, fabs(s3 - r3[i * 64 + j])), n3 = fmax(n3, fabs(s3));
        }
      }
    printf("mn-major offsets %s: q.kT rel %.2e | p.v rel %.2e | dsT.k rel %.2e\n",
           swap ? "(lbo=1024, sbo=block)" : "(lbo=block, sbo=1024)", e1 / n1, e2 / n2, e3 / n3);
    if (!swap && (e1 / n1 > 1e-3 || e2 / n2 > 1e-3 || e3 / n3 > 1e-3)) failures++;
  }
  printf(failures ? "PROBE FAILED (layouts in wgmma.cuh)\n" : "PROBE OK\n");
  return failures ? 1 : 0;
}
