// Native 2D real FFTs of the FFT convolutions' tiles: fwd2d and inv2d of assembly/fft.ts with
// the radix-4 codelets of assembly/gen/fft-codelets.mjs, for T = 16, 32, 64.
//
// Data layout as there: a complex element is 32 bytes, the real parts of 4 lanes (tiles) then
// their imaginary parts. Here one AVX register holds a whole element [re | im], so additions
// and subtractions do both halves at once; multiplications by twiddles and by +-i swap the
// halves. Every lane takes the same operations, in the same order and with the same fused
// multiply-adds, as the relaxed-SIMD build: the bits are the same
// (test/tensor/kernels/native-kernels.test.ts).
#include "kernels.h"

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#define TARGET __attribute__((target("avx2,fma")))
#define INLINE __attribute__((always_inline)) static inline

/** The wasm's twiddle table (initTables in fft.ts): (cos, sin) of 2 pi j / T as f32 pairs at TAB + T*16 + j*8. */
#define TAB (65536 + 4096)

typedef __m256 C8; /* one complex element: [re of 4 lanes | im of 4 lanes] */

TARGET INLINE C8 ld(const uint8_t *p) { return _mm256_loadu_ps((const float *)p); }
TARGET INLINE void st(uint8_t *p, C8 v) { _mm256_storeu_ps((float *)p, v); }
/** [im | re] */
TARGET INLINE C8 swapHalves(C8 v) { return _mm256_permute2f128_ps(v, v, 1); }
/** [re | re], [im | im] */
TARGET INLINE C8 lowTwice(C8 v) { return _mm256_permute2f128_ps(v, v, 0x00); }
TARGET INLINE C8 highTwice(C8 v) { return _mm256_permute2f128_ps(v, v, 0x11); }
/** v with the sign of its high (imaginary) half flipped, and of its low half. */
TARGET INLINE C8 negHigh(C8 v) { return _mm256_xor_ps(v, _mm256_setr_ps(0, 0, 0, 0, -0.0f, -0.0f, -0.0f, -0.0f)); }
TARGET INLINE C8 negLow(C8 v) { return _mm256_xor_ps(v, _mm256_setr_ps(-0.0f, -0.0f, -0.0f, -0.0f, 0, 0, 0, 0)); }

static const float H = (float)0.70710678118654752; /* as the codelets' f32x4.splat of the f64 literal */

/** Bit reversal of j < T (T = 16, 32, 64), from tables filled when the library loads. */
static uint8_t reversed[3][64];

/* once, when the library is loaded (before any thread can call a transform) */
__attribute__((constructor)) static void fillReversed(void) {
  for (int t = 0; t < 3; t++) {
    const int T = 16 << t;
    for (int j = 0; j < T; j++) {
      int r = 0, x = j;
      for (int b = 1; b < T; b <<= 1, x >>= 1) r = (r << 1) | (x & 1);
      reversed[t][j] = (uint8_t)r;
    }
  }
}

static inline int bitReverse(int j, int T) { return reversed[T == 16 ? 0 : T == 32 ? 1 : 2][j]; }

/** y * conj(w^j) (twFwd): re = yr c + (yi s), im = -(yr s) + (yi c); the special twiddles as the codelets. */
TARGET INLINE C8 twiddleFwd(const uint8_t *mem, C8 y, int j, int T) {
  const int jj = j % T;
  if (jj == 0) return y;
  if (jj * 4 == T) return negHigh(swapHalves(y)); /* (yi, -yr) */
  if (jj * 8 == T) return _mm256_mul_ps(_mm256_add_ps(y, negHigh(swapHalves(y))), _mm256_set1_ps(H)); /* ((yr + yi) h, (yi - yr) h) */
  const float *w = (const float *)(mem + TAB + ((size_t)T << 4) + ((size_t)jj << 3));
  const C8 c = _mm256_set1_ps(w[0]), s = _mm256_set1_ps(w[1]);
  const C8 m = _mm256_mul_ps(highTwice(y), _mm256_blend_ps(s, c, 0xf0)); /* [yi s | yi c] */
  return _mm256_fmadd_ps(lowTwice(y), _mm256_blend_ps(c, negHigh(s), 0xf0), m);
}

/** x * w^j (twInv): re = -(xi s) + (xr c), im = xr s + (xi c); the special twiddles as the codelets. */
TARGET INLINE C8 twiddleInv(const uint8_t *mem, C8 x, int j, int T) {
  const int jj = j % T;
  if (jj == 0) return x;
  if (jj * 4 == T) return negLow(swapHalves(x)); /* (-xi, xr) */
  if (jj * 8 == T) return _mm256_mul_ps(_mm256_add_ps(lowTwice(x), negLow(highTwice(x))), _mm256_set1_ps(H)); /* ((xr - xi) h, (xr + xi) h) */
  const float *w = (const float *)(mem + TAB + ((size_t)T << 4) + ((size_t)jj << 3));
  const C8 c = _mm256_set1_ps(w[0]), s = _mm256_set1_ps(w[1]);
  const C8 m = _mm256_mul_ps(x, c); /* [xr c | xi c] */
  return _mm256_fmadd_ps(swapHalves(x), negLow(s), m);
}

/** The radix-2 pass of both directions: (a + b, a - b) for each pair of neighbours. */
TARGET INLINE void radix2(uint8_t *p, const int T) {
  _Pragma("GCC unroll 64")
  for (int j = 0; j < T; j += 2) {
    uint8_t *a = p + (size_t)j * 32;
    const C8 x = ld(a), y = ld(a + 32);
    st(a, _mm256_add_ps(x, y));
    st(a + 32, _mm256_sub_ps(x, y));
  }
}

/** In-place forward FFT of T elements at p (natural in, bit-reversed out): fftDIF{T}. */
TARGET INLINE void fftDIF(const uint8_t *mem, uint8_t *p, const int T) {
  int L = T;
  _Pragma("GCC unroll 64")
  for (; L >= 4; L >>= 2) {
    const int q = L >> 2, step = T / L;
    /* k outer: each butterfly is independent of the others, so their order does not matter */
    _Pragma("GCC unroll 64")
    for (int k = 0; k < q; k++)
      _Pragma("GCC unroll 64")
      for (int blk = 0; blk < T; blk += L) {
        uint8_t *o0 = p + (size_t)(blk + k) * 32, *o1 = o0 + (size_t)q * 32, *o2 = o1 + (size_t)q * 32, *o3 = o2 + (size_t)q * 32;
        const C8 a0 = ld(o0), a1 = ld(o1), a2 = ld(o2), a3 = ld(o3);
        const C8 t0 = _mm256_add_ps(a0, a2), t1 = _mm256_sub_ps(a0, a2), t2 = _mm256_add_ps(a1, a3), t3 = _mm256_sub_ps(a1, a3);
        st(o0, _mm256_add_ps(t0, t2));
        const C8 it3 = negHigh(swapHalves(t3)); /* (t3i, -t3r) */
        st(o1, twiddleFwd(mem, _mm256_sub_ps(t0, t2), 2 * k * step, T));
        st(o2, twiddleFwd(mem, _mm256_add_ps(t1, it3), k * step, T)); /* (t1r + t3i, t1i - t3r) */
        st(o3, twiddleFwd(mem, _mm256_sub_ps(t1, it3), 3 * k * step, T)); /* (t1r - t3i, t1i + t3r) */
      }
  }
  if (L == 2) radix2(p, T);
}

/** In-place inverse (unnormalised) FFT of T elements at p (bit-reversed in, natural out): fftDIT{T}. */
TARGET INLINE void fftDIT(const uint8_t *mem, uint8_t *p, const int T) {
  int bits = 0;
  while ((1 << bits) < T) bits++;
  int L = 4;
  if (bits & 1) {
    radix2(p, T);
    L = 8;
  }
  _Pragma("GCC unroll 64")
  for (; L <= T; L <<= 2) {
    const int q = L >> 2, step = T / L;
    _Pragma("GCC unroll 64")
    for (int k = 0; k < q; k++)
      _Pragma("GCC unroll 64")
      for (int blk = 0; blk < T; blk += L) {
        uint8_t *o0 = p + (size_t)(blk + k) * 32, *o1 = o0 + (size_t)q * 32, *o2 = o1 + (size_t)q * 32, *o3 = o2 + (size_t)q * 32;
        const C8 p0 = ld(o0);
        const C8 p1 = twiddleInv(mem, ld(o1), 2 * k * step, T);
        const C8 p2 = twiddleInv(mem, ld(o2), k * step, T);
        const C8 p3 = twiddleInv(mem, ld(o3), 3 * k * step, T);
        const C8 b0 = _mm256_add_ps(p0, p1), b1 = _mm256_sub_ps(p0, p1), s = _mm256_add_ps(p2, p3), d = _mm256_sub_ps(p2, p3);
        const C8 id = negLow(swapHalves(d)); /* (-di, dr) */
        st(o0, _mm256_add_ps(b0, s));
        st(o2, _mm256_sub_ps(b0, s));
        st(o1, _mm256_add_ps(b1, id)); /* (b1r - di, b1i + dr) */
        st(o3, _mm256_sub_ps(b1, id)); /* (b1r + di, b1i - dr) */
      }
  }
}

/** Number of frequency slots of a T x T real transform (slotCount in fft.ts). */
static inline int slots(int T) { return (T / 2 - 1) * T + T + 2; }

/** fwd2d (fft.ts) for one T: B's row pairs m < mAct, spectra to S (slot order), P a T-element work array. */
TARGET INLINE void forward2d(const uint8_t *mem, uint8_t *B, uint8_t *P, uint8_t *S, const int T, int mAct) {
  const int half = T >> 1;
  const size_t rowB = (size_t)T << 5, colB = (size_t)T << 5;
  for (int m = 0; m < mAct; m++) fftDIF(mem, B + (size_t)m * rowB, T);
  for (int m = 0; m < half; m++) {
    const uint8_t *zb = B + (size_t)m * rowB;
    const size_t r0 = (size_t)(2 * m) << 5;
    if (m >= mAct) {
      const C8 z = _mm256_setzero_ps();
      for (int u = 1; u < half; u++) {
        uint8_t *c = S + (size_t)(u - 1) * colB + r0;
        st(c, z);
        st(c + 32, z);
      }
      st(P + r0, z);
      st(P + r0 + 32, z);
      continue;
    }
    for (int u = 1; u < half; u++) {
      const C8 z = ld(zb + ((size_t)bitReverse(u, T) << 5)), y = ld(zb + ((size_t)bitReverse(T - u, T) << 5));
      uint8_t *c = S + (size_t)(u - 1) * colB + r0;
      st(c, _mm256_add_ps(z, negHigh(y)));                       /* (zr + yr, zi - yi) */
      st(c + 32, _mm256_add_ps(negHigh(swapHalves(z)), swapHalves(y))); /* (zi + yi, yr - zr) */
    }
    const C8 z0 = ld(zb), zh = ld(zb + 32);
    const C8 d0 = _mm256_add_ps(z0, z0), dh = _mm256_add_ps(zh, zh);
    st(P + r0, _mm256_permute2f128_ps(d0, dh, 0x20));      /* (z0r 2, zhr 2) */
    st(P + r0 + 32, _mm256_permute2f128_ps(d0, dh, 0x31)); /* (z0i 2, zhi 2) */
  }
  for (int u = 1; u < half; u++) fftDIF(mem, S + (size_t)(u - 1) * colB, T);
  fftDIF(mem, P, T);
  uint8_t *s0 = S + (size_t)((half - 1) * T) * 32, *s1 = s0 + ((size_t)(half + 1) << 5);
  const C8 h = _mm256_set1_ps(0.5f);
  for (int v = 0; v <= half; v++) {
    const C8 z = ld(P + ((size_t)bitReverse(v, T) << 5)), y = ld(P + ((size_t)bitReverse((T - v) & (T - 1), T) << 5));
    st(s0 + ((size_t)v << 5), _mm256_mul_ps(h, _mm256_add_ps(z, negHigh(y))));
    st(s1 + ((size_t)v << 5), _mm256_mul_ps(h, _mm256_add_ps(negHigh(swapHalves(z)), swapHalves(y))));
  }
}

/** inv2d (fft.ts) for one T: spectra S (destroyed) to B's row pairs m < mOut; P a T-element work array. */
TARGET INLINE void inverse2d(const uint8_t *mem, uint8_t *S, uint8_t *B, uint8_t *P, const int T, int mOut) {
  const int half = T >> 1;
  const size_t colB = (size_t)T << 5, rowB = (size_t)T << 5;
  const uint8_t *s0 = S + (size_t)((half - 1) * T) * 32, *s1 = s0 + ((size_t)(half + 1) << 5);
  for (int v = 0; v <= half; v++) {
    const C8 a = ld(s0 + ((size_t)v << 5)), c = ld(s1 + ((size_t)v << 5));
    st(P + ((size_t)bitReverse(v, T) << 5), _mm256_add_ps(a, negLow(swapHalves(c)))); /* (ar - ci, ai + cr) */
    if (v > 0 && v < half) st(P + ((size_t)bitReverse(T - v, T) << 5), _mm256_add_ps(negHigh(a), swapHalves(c))); /* (ar + ci, cr - ai) */
  }
  for (int u = 1; u < half; u++) fftDIT(mem, S + (size_t)(u - 1) * colB, T);
  fftDIT(mem, P, T);
  for (int m = 0; m < mOut; m++) {
    uint8_t *zb = B + (size_t)m * rowB;
    const size_t r0 = (size_t)(2 * m) << 5;
    for (int u = 1; u < half; u++) {
      const uint8_t *c = S + (size_t)(u - 1) * colB + r0;
      const C8 a = ld(c), b = ld(c + 32);
      st(zb + ((size_t)bitReverse(u, T) << 5), _mm256_add_ps(a, negLow(swapHalves(b))));          /* (ar - bi, ai + bq) */
      st(zb + ((size_t)bitReverse(T - u, T) << 5), _mm256_add_ps(negHigh(a), swapHalves(b)));     /* (ar + bi, bq - ai) */
    }
    const C8 pa = ld(P + r0), pb = ld(P + r0 + 32);
    st(zb, _mm256_permute2f128_ps(pa, pb, 0x20));
    st(zb + 32, _mm256_permute2f128_ps(pa, pb, 0x31));
    fftDIT(mem, zb, T);
  }
}

TARGET void nativeFwd2d(uint8_t *mem, uint32_t B, uint32_t P, uint32_t S, int T, int mAct) {
  if (T == 32) forward2d(mem, mem + B, mem + P, mem + S, 32, mAct);
  else if (T == 16) forward2d(mem, mem + B, mem + P, mem + S, 16, mAct);
  else forward2d(mem, mem + B, mem + P, mem + S, 64, mAct);
}

TARGET void nativeInv2d(uint8_t *mem, uint32_t S, uint32_t B, uint32_t P, int T, int mOut) {
  if (T == 32) inverse2d(mem, mem + S, mem + B, mem + P, 32, mOut);
  else if (T == 16) inverse2d(mem, mem + S, mem + B, mem + P, 16, mOut);
  else inverse2d(mem, mem + S, mem + B, mem + P, 64, mOut);
}

int nativeFftSlots(int T) { return slots(T); }
