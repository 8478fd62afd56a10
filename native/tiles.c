// Moving tiles between image planes and the transforms' lane layout (assembly/fftconv.ts's
// gatherClip, inverseOutputs and storeQuads), around the native 2D transforms (fft.c): 4 tiles,
// one per lane, each row pair of a tile as one complex row (even row real, odd row imaginary).
// The 128-bit kernels move 4 columns with 8 shuffles; here 8 columns of 8 rows (a row pair of 4
// lanes) go through one 8 x 8 transpose. These moves wait on memory more than they compute, so
// they prefetch what comes next (the next channel's rows to read, the next output channel's
// rows to write), which wasm cannot, and the weight gradient's quads bypass the cache. Pure data
// movement (and the LeakyReLU and its gradient, elementwise): the same bits as the wasm.
#include "kernels.h"

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#define TARGET __attribute__((target("avx2,fma,prfchw")))
#define INLINE __attribute__((always_inline)) static inline

/** A lane's entry in the lane table (fftconv.ts's tileLanes): LANE bytes of i32 fields. */
#define LANE 64

INLINE int32_t field(const uint8_t *lanes, int l, int byte) { return *(const int32_t *)(lanes + (size_t)l * LANE + byte); }

/** 4 x 4 transposes in both 128-bit halves at once: r[k] = (r0[k], r1[k], r2[k], r3[k]) in each half. */
TARGET INLINE void transposeHalves4(__m256 r[4]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  r[0] = _mm256_shuffle_ps(t0, t2, 0x44);
  r[1] = _mm256_shuffle_ps(t0, t2, 0xee);
  r[2] = _mm256_shuffle_ps(t1, t3, 0x44);
  r[3] = _mm256_shuffle_ps(t1, t3, 0xee);
}

/** Rows (r0..r7) to columns: out[k] = (r0[k], ..., r7[k]). Its own inverse. */
TARGET INLINE void transpose8(__m256 r[8]) {
  transposeHalves4(r);
  transposeHalves4(r + 4);
  /* r[k] now holds column k (low half) and column k + 4 (high half) of rows 0-3, r[4 + k] of rows 4-7 */
  for (int k = 0; k < 4; k++) {
    const __m256 a = r[k], b = r[4 + k];
    r[k] = _mm256_permute2f128_ps(a, b, 0x20);
    r[4 + k] = _mm256_permute2f128_ps(a, b, 0x31);
  }
}

/** simd.ts's leakyGrad4: x > 0 ? g : g * slope. */
TARGET INLINE __m256 leakyGrad(__m256 x, __m256 g, __m256 slope) {
  return _mm256_blendv_ps(_mm256_mul_ps(g, slope), g, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GT_OQ));
}

/** simd.ts's leaky4: x > 0 ? x : x * slope. */
TARGET INLINE __m256 leaky(__m256 x, __m256 slope) {
  return _mm256_blendv_ps(_mm256_mul_ps(x, slope), x, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GT_OQ));
}

/** Whether [off, off + bytes) lies inside the memory. */
INLINE int within(uint64_t off, uint64_t bytes, size_t memBytes) { return off + bytes <= (uint64_t)memBytes; }

/**
 * gatherClip (fftconv.ts): B[m][j] = rows 2m, 2m + 1 of column j of 4 tiles, rows < min(T, 2 mAct).
 * Returns -1 (nothing written) when a row it would read lies outside the memory.
 */
TARGET static int gather(uint8_t *mem, size_t memBytes, uint8_t *B, const int T, int mAct, const uint8_t *lanes, const uint8_t *masks, int W,
                         uint32_t zeroRow, uint32_t ahead, uint32_t leakyDelta, float slope) {
  const int rows = T < 2 * mAct ? T : 2 * mAct;
  const uint64_t Wb = (uint64_t)W * 4, rowBytes = (uint64_t)T * 4;
  int32_t lo[4], hi[4];
  uint32_t base[4];
  for (int l = 0; l < 4; l++) {
    lo[l] = field(lanes, l, 12);
    hi[l] = field(lanes, l, 16) < rows ? field(lanes, l, 16) : rows;
    base[l] = (uint32_t)field(lanes, l, 48);
    // the rows read (u32 addresses, as the wasm forms them) and their LeakyReLU outputs: the
    // first and the last, with no wrap between them, bound the rest
    const int first = lo[l] < 0 ? 0 : lo[l];
    if (first < hi[l]) {
      const uint32_t a = base[l] + (uint32_t)(first * Wb), z = base[l] + (uint32_t)((hi[l] - 1) * Wb);
      if ((uint64_t)z - a != (uint64_t)(hi[l] - 1 - first) * Wb || !within(z, rowBytes, memBytes)) return -1;
      const uint32_t ay = a + leakyDelta, zy = z + leakyDelta;
      if (leakyDelta && (zy < ay || !within(zy, rowBytes, memBytes))) return -1;
    }
  }
  // rows outside the window read the zero row (T zeros), as the wasm does: the same bits for any slope
  if (!within(zeroRow, rowBytes, memBytes)) return -1;
  const int blocks = T >> 3;
  __m256 mask[4][8];
  for (int l = 0; l < 4; l++)
    for (int b = 0; b < blocks; b++) {
      const uint8_t *m = masks + (size_t)(2 * b) * 64 + (size_t)l * 16;
      mask[l][b] = _mm256_castsi256_ps(_mm256_setr_m128i(_mm_loadu_si128((const __m128i *)m), _mm_loadu_si128((const __m128i *)(m + 64))));
    }
  const __m256 sl = _mm256_set1_ps(slope);
  const size_t rowB = (size_t)T << 5;
  for (int r = 0; r < rows; r += 2) {
    const uint8_t *src[8], *act[8];
    for (int h = 0; h < 2; h++)
      for (int l = 0; l < 4; l++) {
        const int rr = r + h, in = rr >= lo[l] && rr < hi[l];
        const uint32_t a = in ? base[l] + (uint32_t)(rr * Wb) : zeroRow;
        src[4 * h + l] = mem + a;
        act[4 * h + l] = mem + (in ? (uint32_t)(a + leakyDelta) : zeroRow);
        if (in && ahead) {
          const uint8_t *p = mem + (uint32_t)(a + ahead), *q = mem + (uint32_t)(a + ahead + leakyDelta);
          for (uint64_t k = 0; k <= rowBytes; k += 64) _mm_prefetch((const char *)(p + k), _MM_HINT_T1);
          if (leakyDelta)
            for (uint64_t k = 0; k <= rowBytes; k += 64) _mm_prefetch((const char *)(q + k), _MM_HINT_T1);
        }
      }
    uint8_t *dst = B + (size_t)(r >> 1) * rowB;
    for (int b = 0; b < blocks; b++) {
      __m256 v[8];
      for (int i = 0; i < 8; i++) {
        v[i] = _mm256_and_ps(_mm256_loadu_ps((const float *)(src[i] + (size_t)b * 32)), mask[i & 3][b]);
        if (leakyDelta) v[i] = leakyGrad(_mm256_loadu_ps((const float *)(act[i] + (size_t)b * 32)), v[i], sl);
      }
      transpose8(v);
      for (int k = 0; k < 8; k++) _mm256_storeu_ps((float *)(dst + (size_t)(8 * b + k) * 32), v[k]);
    }
  }
  return 0;
}

TARGET int nativeGatherFwd2d(uint8_t *mem, size_t memBytes, uint32_t B, uint32_t P, uint32_t S, int T, int mAct, uint32_t lanes, uint32_t masks,
                             int W, uint32_t zeroRow, uint32_t ahead, uint32_t leakyDelta, float slope) {
  int bad;
  if (T == 32) bad = gather(mem, memBytes, mem + B, 32, mAct, mem + lanes, mem + masks, W, zeroRow, ahead, leakyDelta, slope);
  else if (T == 16) bad = gather(mem, memBytes, mem + B, 16, mAct, mem + lanes, mem + masks, W, zeroRow, ahead, leakyDelta, slope);
  else bad = gather(mem, memBytes, mem + B, 64, mAct, mem + lanes, mem + masks, W, zeroRow, ahead, leakyDelta, slope);
  if (bad) return bad;
  nativeFwd2d(mem, B, P, S, T, mAct);
  return 0;
}

/** Stores the first `left` (1..7) floats of x at d (AVX's masked store is slow on some processors). */
TARGET INLINE void storeFirst(float *d, __m256 x, int left) {
  __m128 v = _mm256_castps256_ps128(x);
  if (left >= 4) {
    _mm_storeu_ps(d, v);
    v = _mm256_extractf128_ps(x, 1);
    d += 4;
    left -= 4;
  }
  if (left >= 2) {
    _mm_storel_pi((__m64 *)d, v);
    v = _mm_movehl_ps(v, v);
    d += 2;
    left -= 2;
  }
  if (left) _mm_store_ss(d, v);
}

/**
 * inverseOutputs' stores (fftconv.ts): rows r < rows_l and columns j < cols_l of lane l's tile
 * from B (after inv2d) to its place in y[n][o] (L channels of H x W), LeakyReLU'd when leakyOn.
 * Returns -1 (nothing written) when a row it would write lies outside the memory.
 */
TARGET static int scatter(uint8_t *mem, size_t memBytes, const uint8_t *B, const int T, int V, const uint8_t *lanes, uint32_t y, int L, int o,
                          int H, int W, int leakyOn, float slope) {
  const uint64_t HW = (uint64_t)H * W, Wb = (uint64_t)W * 4;
  const int pairs = (V + 1) >> 1; /* the row pairs inv2d wrote */
  uint8_t *dst[4];
  int rows[4], cols[4], rmax = 0, cmax = 0;
  for (int l = 0; l < 4; l++) {
    rows[l] = field(lanes, l, 32);
    cols[l] = field(lanes, l, 36);
    dst[l] = NULL;
    if (rows[l] <= 0 || cols[l] <= 0) continue;
    if (rows[l] > 2 * pairs || cols[l] > T || field(lanes, l, 0) < 0 || field(lanes, l, 28) < 0) return -1;
    const uint64_t at = y + (((uint64_t)field(lanes, l, 0) * L + o) * HW + (uint64_t)field(lanes, l, 28)) * 4;
    if (!within(at + (uint64_t)(rows[l] - 1) * Wb, (uint64_t)cols[l] * 4, memBytes)) return -1;
    dst[l] = mem + at;
    if (rows[l] > rmax) rmax = rows[l];
    if (cols[l] > cmax) cmax = cols[l];
  }
  const __m256 sl = _mm256_set1_ps(slope);
  const size_t rowB = (size_t)T << 5;
  for (int r = 0; r < rmax; r += 2) {
    const uint8_t *src = B + (size_t)(r >> 1) * rowB;
    for (int j = 0; j < cmax; j += 8) {
      __m256 v[8];
      for (int k = 0; k < 8; k++) v[k] = _mm256_loadu_ps((const float *)(src + (size_t)(j + k) * 32));
      transpose8(v); /* v[l]: row r of lane l, v[4 + l]: row r + 1 */
      for (int i = 0; i < 8; i++) {
        const int l = i & 3, rr = r + (i >> 2), left = cols[l] - j;
        if (rr >= rows[l] || left <= 0) continue;
        const __m256 x = leakyOn ? leaky(v[i], sl) : v[i];
        float *d = (float *)(dst[l] + (uint64_t)rr * Wb + (uint64_t)j * 4);
        if (left >= 8) _mm256_storeu_ps(d, x);
        else storeFirst(d, x, left);
        // the next output channel's row: its lines are being fetched while this one's inverse runs
        if (o + 1 < L && j == 0)
          for (int k = 0; k < cols[l] + 16; k += 16) __builtin_prefetch((const char *)d + HW * 4 + (uint64_t)k * 4, 1, 3);
      }
    }
  }
  return 0;
}

TARGET int nativeInv2dScatter(uint8_t *mem, size_t memBytes, uint32_t S, uint32_t B, uint32_t P, int T, int V, uint32_t lanes, uint32_t y, int L,
                              int o, int H, int W, int leakyOn, float slope) {
  nativeInv2d(mem, S, B, P, T, (V + 1) >> 1);
  if (T == 32) return scatter(mem, memBytes, mem + B, 32, V, mem + lanes, y, L, o, H, W, leakyOn, slope);
  if (T == 16) return scatter(mem, memBytes, mem + B, 16, V, mem + lanes, y, L, o, H, W, leakyOn, slope);
  return scatter(mem, memBytes, mem + B, 64, V, mem + lanes, y, L, o, H, W, leakyOn, slope);
}

/**
 * storeQuads (fftconv.ts): n spectra of 4 tiles (F slots of [re of 4 tiles | im of 4 tiles],
 * consecutive at sp) as frequency quads, [re of slots f..f+3 | their im] of one tile at
 * out + (f/4) strideF + tile strideT + i 32 (slots past F zero). The quads are read only by the
 * weight gradient's products, after every tile group of the chunk has stored its own (tens of
 * MB): they go straight to memory (streaming stores, whole lines: the n spectra of a quad and
 * tile are consecutive) instead of each store first fetching its line.
 */
TARGET void nativeStoreQuads(uint8_t *mem, uint32_t sp, int F, int n, uint32_t out, uint64_t strideF, uint64_t strideT) {
  const int quads = (F + 3) >> 2;
  const __m256 z = _mm256_setzero_ps();
  const int stream = !((out | strideF | strideT) & 31);
  for (int q = 0; q < quads; q++) {
    const int f = 4 * q;
    uint8_t *o = mem + out + (size_t)q * strideF;
    for (int i = 0; i < n; i++, o += 32) {
      const uint8_t *a = mem + sp + (size_t)i * F * 32 + (size_t)f * 32;
      __m256 v[4] = {_mm256_loadu_ps((const float *)a), f + 1 < F ? _mm256_loadu_ps((const float *)(a + 32)) : z,
                     f + 2 < F ? _mm256_loadu_ps((const float *)(a + 64)) : z, f + 3 < F ? _mm256_loadu_ps((const float *)(a + 96)) : z};
      transposeHalves4(v); /* lanes: tiles -> slots; v[t]: tile t's quad */
      for (int t = 0; t < 4; t++) {
        float *d = (float *)(o + t * strideT);
        if (stream) _mm256_stream_ps(d, v[t]);
        else _mm256_storeu_ps(d, v[t]);
      }
    }
  }
  _mm_sfence();
}
