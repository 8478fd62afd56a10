// Native products of the FFT convolutions, for the WebAssembly backend on x86-64 (Node.js only).
//
// The WebAssembly kernels spent about a third of a training step in two product loops: the
// per-frequency complex matrix products of assembly/fftconv.ts (convProducts) and the
// weight-gradient sums over tiles of assembly/fftgrad.ts (fftGradWTask). 128-bit SIMD runs
// them 4 lanes at a time; here AVX2 runs the same lanes 8 at a time (real and imaginary halves
// of one spectrum vector side by side), with more accumulators in registers.
//
// Every output lane takes exactly the fused multiply-adds, in exactly the order, of the
// relaxed-SIMD build (f32x4.relaxed_madd is one FMA on x86-64), and the same final add or
// subtract: the results are bit-identical to it (test/tensor/kernels/native-kernels.test.ts).
// Arguments are byte offsets into the kernels' shared memory, checked by addon.c.
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels.h"

#define TARGET __attribute__((target("avx2,fma")))
#define INLINE __attribute__((always_inline)) static inline

// ---- convProducts: Ys[o - o0][f] = sum_r X[r][f] * Ws[f][o][r] ---------------------------
// X[r][f]: 32 bytes at x0 + r*F*32 + f*32 (re of 4 tiles, then im). Ws[f][o][r]: the pair
// (o, o+1) at Ws + f*R*Lq*8 + (o/2)*R*16 + r*16 as [re o, im o, re o+1, im o+1] (conjugated
// and scaled by the filter task). Ys[j][f] at Ys + j*F*32 + f*32, as X.
// With x = [xr | xi]: A += x * re(w) gives [sum xr wr | sum xi wr] = [p | t] and
// B += x * im(w) gives [sum xr wi | sum xi wi] = [s | q]; re = p - q, im = s + t (as the wasm).

/** NP output pairs (2*NP outputs) of one slot f: 4*NP accumulators. */
TARGET INLINE void convBlock(const uint8_t *xf, size_t fsB, const uint8_t *wp, size_t pairB, int R, uint8_t *yo, const int NP) {
  __m256 A[12], B[12];
  for (int k = 0; k < 2 * NP; k++) A[k] = B[k] = _mm256_setzero_ps();
  for (int r = 0; r < R; r++) {
    const __m256 x = _mm256_loadu_ps((const float *)(xf + (size_t)r * fsB));
    for (int k = 0; k < NP; k++) {
      const float *w = (const float *)(wp + (size_t)k * pairB + ((size_t)r << 4));
      A[2 * k] = _mm256_fmadd_ps(x, _mm256_broadcast_ss(w), A[2 * k]);
      B[2 * k] = _mm256_fmadd_ps(x, _mm256_broadcast_ss(w + 1), B[2 * k]);
      A[2 * k + 1] = _mm256_fmadd_ps(x, _mm256_broadcast_ss(w + 2), A[2 * k + 1]);
      B[2 * k + 1] = _mm256_fmadd_ps(x, _mm256_broadcast_ss(w + 3), B[2 * k + 1]);
    }
  }
  for (int j = 0; j < 2 * NP; j++) {
    const __m128 p = _mm256_castps256_ps128(A[j]), t = _mm256_extractf128_ps(A[j], 1);
    const __m128 s = _mm256_castps256_ps128(B[j]), q = _mm256_extractf128_ps(B[j], 1);
    float *y = (float *)(yo + (size_t)j * fsB);
    _mm_storeu_ps(y, _mm_sub_ps(p, q));
    _mm_storeu_ps(y + 4, _mm_add_ps(s, t));
  }
}

TARGET void convProducts(uint8_t *mem, uint32_t x0, uint32_t Ws, uint32_t Ys, int F, int R, int Lq, int o0, int o1) {
  const size_t fsB = (size_t)F << 5, wfB = (size_t)R * Lq * 8, pairB = (size_t)R << 4;
  for (int f = 0; f < F; f++) {
    const uint8_t *xf = mem + x0 + ((size_t)f << 5);
    const uint8_t *wf = mem + Ws + (size_t)f * wfB;
    uint8_t *yf = mem + Ys + ((size_t)f << 5);
    int o = o0;
    // 3 pairs: 12 accumulators, the most that 16 vector registers hold with x and a broadcast
    for (; o + 6 <= o1; o += 6) convBlock(xf, fsB, wf + (size_t)(o >> 1) * pairB, pairB, R, yf + (size_t)(o - o0) * fsB, 3);
    for (; o < o1; o += 2) convBlock(xf, fsB, wf + (size_t)(o >> 1) * pairB, pairB, R, yf + (size_t)(o - o0) * fsB, 1);
  }
}

// ---- convProductsPair: convProducts of two tile groups at once (AVX-512) --------------------
// A 512-bit register holds one slot of both groups: x = [xa | xb]. Each weight is broadcast
// once for the 8 tiles (convBlock broadcasts it for 4), which is what limits convBlock: the
// pair takes about 0.75 of two convProducts calls. Every lane's multiply-adds are convBlock's.

#define TARGET512 __attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma")))

/** NP output pairs of one slot f of both groups: 4*NP accumulators. */
TARGET512 INLINE void pairBlock(const uint8_t *xa, const uint8_t *xb, size_t fsB, const uint8_t *wp, size_t pairB, int R, uint8_t *ya,
                                uint8_t *yb, const int NP) {
  __m512 A[12], B[12];
  for (int k = 0; k < 2 * NP; k++) A[k] = B[k] = _mm512_setzero_ps();
  for (int r = 0; r < R; r++) {
    const __m256 lo = _mm256_loadu_ps((const float *)(xa + (size_t)r * fsB));
    const __m512 x = _mm512_insertf32x8(_mm512_castps256_ps512(lo), _mm256_loadu_ps((const float *)(xb + (size_t)r * fsB)), 1);
    for (int k = 0; k < NP; k++) {
      const float *w = (const float *)(wp + (size_t)k * pairB + ((size_t)r << 4));
      A[2 * k] = _mm512_fmadd_ps(x, _mm512_set1_ps(w[0]), A[2 * k]);
      B[2 * k] = _mm512_fmadd_ps(x, _mm512_set1_ps(w[1]), B[2 * k]);
      A[2 * k + 1] = _mm512_fmadd_ps(x, _mm512_set1_ps(w[2]), A[2 * k + 1]);
      B[2 * k + 1] = _mm512_fmadd_ps(x, _mm512_set1_ps(w[3]), B[2 * k + 1]);
    }
  }
  // A = [p | t] and B = [s | q] per group (128-bit quarters); re = p - q, im = s + t (t + s: the same bits)
  for (int j = 0; j < 2 * NP; j++) {
    const __m512 Bs = _mm512_shuffle_f32x4(B[j], B[j], 0xB1); /* [q | s] per group */
    const __m512 y = _mm512_mask_blend_ps(0xF0F0, _mm512_sub_ps(A[j], Bs), _mm512_add_ps(A[j], Bs));
    _mm256_storeu_ps((float *)(ya + (size_t)j * fsB), _mm512_castps512_ps256(y));
    _mm256_storeu_ps((float *)(yb + (size_t)j * fsB), _mm512_extractf32x8_ps(y, 1));
  }
}

TARGET512 static void pairProducts512(uint8_t *mem, uint32_t xa0, uint32_t xb0, uint32_t Ws, uint32_t Ya, uint32_t Yb, int F, int R, int Lq,
                                      int o0, int o1) {
  const size_t fsB = (size_t)F << 5, wfB = (size_t)R * Lq * 8, pairB = (size_t)R << 4;
  for (int f = 0; f < F; f++) {
    const size_t fo = (size_t)f << 5;
    const uint8_t *xa = mem + xa0 + fo, *xb = mem + xb0 + fo, *wf = mem + Ws + (size_t)f * wfB;
    uint8_t *ya = mem + Ya + fo, *yb = mem + Yb + fo;
    int o = o0;
    // 6 pairs: 24 accumulators of the 32 registers
    for (; o + 12 <= o1; o += 12) pairBlock(xa, xb, fsB, wf + (size_t)(o >> 1) * pairB, pairB, R, ya + (size_t)(o - o0) * fsB, yb + (size_t)(o - o0) * fsB, 6);
    for (; o + 4 <= o1; o += 4) pairBlock(xa, xb, fsB, wf + (size_t)(o >> 1) * pairB, pairB, R, ya + (size_t)(o - o0) * fsB, yb + (size_t)(o - o0) * fsB, 2);
    for (; o < o1; o += 2) pairBlock(xa, xb, fsB, wf + (size_t)(o >> 1) * pairB, pairB, R, ya + (size_t)(o - o0) * fsB, yb + (size_t)(o - o0) * fsB, 1);
  }
}

/** Whether this processor runs pairProducts512: set once when the library is loaded, before any thread can call it. */
static int avx512 = 0;

__attribute__((constructor)) static void detectAvx512(void) {
  __builtin_cpu_init();
  avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}

void convProductsPair(uint8_t *mem, uint32_t xa0, uint32_t xb0, uint32_t Ws, uint32_t Ya, uint32_t Yb, int F, int R, int Lq, int o0, int o1) {
  if (avx512) {
    pairProducts512(mem, xa0, xb0, Ws, Ya, Yb, F, R, Lq, o0, o1);
    return;
  }
  convProducts(mem, xa0, Ws, Ya, F, R, Lq, o0, o1);
  convProducts(mem, xb0, Ws, Yb, F, R, Lq, o0, o1);
}

// ---- gradW: Racc[fq][o*C + c] (+)= sum_i conj(DY[fq][i][o]) * X[fq][i][c] ------------------
// Frequency quads: 32 bytes (re of 4 slots, then im); X at Xs + fq*TnS*txB + i*txB + c*32,
// DY at DYs + fq*TnS*tdB + i*tdB + o*32, Racc at Racc + (fq*O*C + o*C + c)*32.
// With d = [dr | di], x = [xr | xi], e = [di | dr]: A += d * x gives [sum dr xr | sum di xi] =
// [p | q], B += e * x gives [sum di xr | sum dr xi] = [t | s]; re = p + q, im = s - t.

/**
 * Lines of the next quad to prefetch while this one is summed: its tiles are strided, so a
 * first pass from memory would wait on every line (the chunk outgrows the L2 cache). Each
 * block of this quad takes its share, one line per tile step.
 */
typedef struct {
  const uint8_t *x, *xEnd, *d, *dEnd;
  int perBlock;
} Ahead;

INLINE void prefetchLine(Ahead *a) {
  if (a->x < a->xEnd) {
    __builtin_prefetch(a->x);
    a->x += 64;
  } else if (a->d < a->dEnd) {
    __builtin_prefetch(a->d);
    a->d += 64;
  }
}

/** NO output channels x NC input channels of one quad over the tiles. */
TARGET INLINE void gradBlock(const uint8_t *xq, size_t txB, const uint8_t *dq, size_t tdB, int Tn, uint8_t *rq, int C, int o, int c,
                             int acc, Ahead *ahead, const int NO, const int NC) {
  __m256 A[4], B[4];
  for (int a = 0; a < NO; a++)
    for (int b = 0; b < NC; b++) {
      const float *ra = (const float *)(rq + ((size_t)((o + a) * C + c + b) << 5));
      const __m128 z = _mm_setzero_ps();
      // p and s start from the accumulated sums (the wasm's first two accumulators), q and t from 0
      A[a * NC + b] = acc ? _mm256_set_m128(z, _mm_loadu_ps(ra)) : _mm256_setzero_ps();
      B[a * NC + b] = acc ? _mm256_set_m128(_mm_loadu_ps(ra + 4), z) : _mm256_setzero_ps();
    }
  const uint8_t *xp = xq + ((size_t)c << 5), *dp = dq + ((size_t)o << 5);
  for (int i = 0; i < Tn; i++) {
    if (i < ahead->perBlock) prefetchLine(ahead);
    __m256 d[2], e[2];
    for (int a = 0; a < NO; a++) {
      d[a] = _mm256_loadu_ps((const float *)(dp + ((size_t)a << 5)));
      e[a] = _mm256_permute2f128_ps(d[a], d[a], 1);
    }
    for (int b = 0; b < NC; b++) {
      const __m256 x = _mm256_loadu_ps((const float *)(xp + ((size_t)b << 5)));
      for (int a = 0; a < NO; a++) {
        A[a * NC + b] = _mm256_fmadd_ps(d[a], x, A[a * NC + b]);
        B[a * NC + b] = _mm256_fmadd_ps(e[a], x, B[a * NC + b]);
      }
    }
    xp += txB;
    dp += tdB;
  }
  for (int a = 0; a < NO; a++)
    for (int b = 0; b < NC; b++) {
      float *ra = (float *)(rq + ((size_t)((o + a) * C + c + b) << 5));
      const __m256 Av = A[a * NC + b], Bv = B[a * NC + b];
      _mm_storeu_ps(ra, _mm_add_ps(_mm256_castps256_ps128(Av), _mm256_extractf128_ps(Av, 1)));
      _mm_storeu_ps(ra + 4, _mm_sub_ps(_mm256_extractf128_ps(Bv, 1), _mm256_castps256_ps128(Bv)));
    }
}

TARGET void gradWProducts(uint8_t *mem, uint32_t Xs, uint32_t DYs, uint32_t Racc, int C, int O, int Tn, int TnS, size_t txB,
                                  size_t tdB, int q0, int q1, int acc) {
  const int blocks = ((O + 1) >> 1) * ((C + 1) >> 1);
  const size_t lines = ((size_t)Tn * (txB + tdB) + 63) / 64;
  for (int fq = q0; fq < q1; fq++) {
    const uint8_t *xq = mem + Xs + (size_t)fq * TnS * txB, *dq = mem + DYs + (size_t)fq * TnS * tdB;
    uint8_t *rq = mem + Racc + ((size_t)fq * O * C << 5);
    const int more = fq + 1 < q1;
    Ahead ahead = {xq + (size_t)TnS * txB, xq + (size_t)TnS * txB + (more ? (size_t)Tn * txB : 0), dq + (size_t)TnS * tdB,
                   dq + (size_t)TnS * tdB + (more ? (size_t)Tn * tdB : 0), more ? (int)((lines + blocks - 1) / blocks) : 0};
    int o = 0;
    for (; o + 2 <= O; o += 2) {
      int c = 0;
      for (; c + 2 <= C; c += 2) gradBlock(xq, txB, dq, tdB, Tn, rq, C, o, c, acc, &ahead, 2, 2);
      if (c < C) gradBlock(xq, txB, dq, tdB, Tn, rq, C, o, c, acc, &ahead, 2, 1);
    }
    if (o < O) {
      int c = 0;
      for (; c + 2 <= C; c += 2) gradBlock(xq, txB, dq, tdB, Tn, rq, C, o, c, acc, &ahead, 1, 2);
      if (c < C) gradBlock(xq, txB, dq, tdB, Tn, rq, C, o, c, acc, &ahead, 1, 1);
    }
  }
}

