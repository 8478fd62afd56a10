// Native products of the FFT convolutions, for the WebAssembly backend on x86-64 (Node.js only).
//
// The WebAssembly kernels spend about 40% of a training step in two product loops: the
// per-frequency complex matrix products of assembly/fftconv.ts (convProducts) and the
// weight-gradient sums over tiles of assembly/fftgrad.ts (fftGradWTask). 128-bit SIMD runs
// them 4 lanes at a time; here AVX2 runs the same lanes 8 at a time (real and imaginary halves
// of one spectrum vector side by side), with more accumulators in registers.
//
// Every output lane takes exactly the fused multiply-adds, in exactly the order, of the
// relaxed-SIMD build (f32x4.relaxed_madd is one FMA on x86-64), and the same final add or
// subtract: the results are bit-identical to it (test/tensor/kernels/native-products.test.ts).
// Arguments are byte offsets into the kernels' shared memory; each call checks that what it
// touches lies inside the memory and throws otherwise.
#define NAPI_VERSION 8
#include <node_api.h>
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#include "fft.h"

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

TARGET static void convProducts(uint8_t *mem, uint32_t x0, uint32_t Ws, uint32_t Ys, int F, int R, int Lq, int o0, int o1) {
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

TARGET static void gradWProducts(uint8_t *mem, uint32_t Xs, uint32_t DYs, uint32_t Racc, int C, int O, int Tn, int TnS, size_t txB,
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

// ---- Node-API glue ----------------------------------------------------------------------

/** Threads that have called a product function (threadsUsed(): tests check that workers do). */
static int threadsUsed = 0;
static __thread int calledHere = 0;

/**
 * Reads the call's argc numbers (the last is the memory's current size in bytes, which the
 * kernels pass); returns the memory's base (bound by bind()), or NULL with an exception pending.
 */
static uint8_t *readArgs(napi_env env, napi_callback_info info, size_t argc, double *out, size_t *memBytes) {
  napi_value argv[16];
  size_t n = 16;
  void *base = NULL;
  if (napi_get_cb_info(env, info, &n, argv, NULL, &base) != napi_ok || n != argc || base == NULL) {
    napi_throw_error(env, NULL, "native products: wrong number of arguments");
    return NULL;
  }
  for (size_t i = 0; i < argc; i++) {
    // wasm passes i32: offsets above 2 GiB arrive negative and are read back as unsigned
    if (napi_get_value_double(env, argv[i], &out[i]) != napi_ok || !(out[i] >= -2147483648.0 && out[i] <= 4294967295.0)) {
      napi_throw_error(env, NULL, "native products: arguments must be 32-bit numbers");
      return NULL;
    }
    if (out[i] < 0) out[i] += 4294967296.0;
  }
  *memBytes = (size_t)out[argc - 1];
  if (!calledHere) {
    calledHere = 1;
    __atomic_add_fetch(&threadsUsed, 1, __ATOMIC_RELAXED);
  }
  return (uint8_t *)base;
}

/** Throws `message`; returns NULL for the caller to return. */
static napi_value fail(napi_env env, const char *message) {
  napi_throw_error(env, NULL, message);
  return NULL;
}

/** Whether [off, off + bytes) lies inside the memory; throws when not. */
static int inside(napi_env env, double off, double bytes, size_t memBytes) {
  if (off + bytes <= (double)memBytes) return 1;
  napi_throw_range_error(env, NULL, "native products: an array lies outside the kernels' memory");
  return 0;
}

/** convProducts(x0, Ws, Ys, F, R, Lq, o0, o1, memBytes) */
static napi_value ConvProducts(napi_env env, napi_callback_info info) {
  double a[9];
  size_t memBytes;
  uint8_t *mem = readArgs(env, info, 9, a, &memBytes);
  if (!mem) return NULL;
  const double F = a[3], R = a[4], Lq = a[5], o0 = a[6], o1 = a[7];
  if (F < 1 || R < 1 || Lq < 2 || o0 > o1 || o1 > Lq || ((int)o0 & 1) || ((int)o1 & 1)) {
    napi_throw_error(env, NULL, "native products: bad convolution shape");
    return NULL;
  }
  if (!inside(env, a[0], R * F * 32, memBytes) || !inside(env, a[1], F * R * Lq * 8, memBytes) ||
      !inside(env, a[2], (o1 - o0) * F * 32, memBytes))
    return NULL;
  convProducts(mem, (uint32_t)a[0], (uint32_t)a[1], (uint32_t)a[2], (int)F, (int)R, (int)Lq, (int)o0, (int)o1);
  return NULL;
}

/** gradWProducts(Xs, DYs, Racc, C, O, Tn, TnS, txB, tdB, q0, q1, accumulate, memBytes) */
static napi_value GradWProducts(napi_env env, napi_callback_info info) {
  double a[13];
  size_t memBytes;
  uint8_t *mem = readArgs(env, info, 13, a, &memBytes);
  if (!mem) return NULL;
  const double C = a[3], O = a[4], Tn = a[5], TnS = a[6], txB = a[7], tdB = a[8], q0 = a[9], q1 = a[10];
  if (C < 1 || O < 1 || Tn > TnS || q0 > q1 || txB < C * 32 || tdB < O * 32) {
    napi_throw_error(env, NULL, "native products: bad weight-gradient shape");
    return NULL;
  }
  if (q1 > q0 && (!inside(env, a[0], q1 * TnS * txB, memBytes) || !inside(env, a[1], q1 * TnS * tdB, memBytes) ||
                  !inside(env, a[2], q1 * O * C * 32, memBytes)))
    return NULL;
  gradWProducts(mem, (uint32_t)a[0], (uint32_t)a[1], (uint32_t)a[2], (int)C, (int)O, (int)Tn, (int)TnS, (size_t)txB, (size_t)tdB,
                (int)q0, (int)q1, a[11] != 0);
  return NULL;
}

/** threadsUsed(): how many threads of this process have run a product function so far. */
static napi_value ThreadsUsed(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
  napi_create_int32(env, __atomic_load_n(&threadsUsed, __ATOMIC_RELAXED), &v);
  return v;
}

/**
 * fwd2d(B, P, S, T, mAct, memBytes) and inv2d(S, B, P, T, mOut, memBytes) (fft.c): B holds
 * `rows` row pairs of T elements, P T elements, S the T x T transform's slots.
 */
static napi_value transform2d(napi_env env, napi_callback_info info, int inverse) {
  double a[6];
  size_t memBytes;
  uint8_t *mem = readArgs(env, info, 6, a, &memBytes);
  if (!mem) return NULL;
  const int T = (int)a[3], rows = (int)a[4];
  if ((T != 16 && T != 32 && T != 64) || rows < 0 || rows > T / 2) return fail(env, "native products: bad transform shape");
  const double B = inverse ? a[1] : a[0], S = inverse ? a[0] : a[2];
  if (!inside(env, B, rows * T * 32.0, memBytes) || !inside(env, S, nativeFftSlots(T) * 32.0, memBytes) || !inside(env, a[inverse ? 2 : 1], T * 32.0, memBytes))
    return NULL;
  if (inverse) nativeInv2d(mem, (uint32_t)a[0], (uint32_t)a[1], (uint32_t)a[2], T, rows);
  else nativeFwd2d(mem, (uint32_t)a[0], (uint32_t)a[1], (uint32_t)a[2], T, rows);
  return NULL;
}

static napi_value Fwd2d(napi_env env, napi_callback_info info) { return transform2d(env, info, 0); }
static napi_value Inv2d(napi_env env, napi_callback_info info) { return transform2d(env, info, 1); }

/** supported(): whether this processor runs the AVX2 + FMA code. */
static napi_value Supported(napi_env env, napi_callback_info info) {
  (void)info;
  __builtin_cpu_init();
  napi_value v;
  napi_get_boolean(env, __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"), &v);
  return v;
}

/**
 * bind(view): the two products over the memory `view` (a Uint8Array over the kernels' shared
 * memory) as { convProducts, gradWProducts }, the kernel instance's imports. A shared memory
 * never moves, so its base address is kept; its current size comes with every call.
 */
static napi_value Bind(napi_env env, napi_callback_info info) {
  napi_value argv[1], obj, fn;
  size_t n = 1;
  napi_typedarray_type type;
  size_t length;
  void *data = NULL;
  if (napi_get_cb_info(env, info, &n, argv, NULL, NULL) != napi_ok || n != 1 ||
      napi_get_typedarray_info(env, argv[0], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_uint8_array || data == NULL) {
    napi_throw_error(env, NULL, "native products: bind() takes a Uint8Array over the kernels' memory");
    return NULL;
  }
  napi_create_object(env, &obj);
  napi_create_function(env, "convProducts", NAPI_AUTO_LENGTH, ConvProducts, data, &fn);
  napi_set_named_property(env, obj, "convProducts", fn);
  napi_create_function(env, "gradWProducts", NAPI_AUTO_LENGTH, GradWProducts, data, &fn);
  napi_set_named_property(env, obj, "gradWProducts", fn);
  napi_create_function(env, "fwd2d", NAPI_AUTO_LENGTH, Fwd2d, data, &fn);
  napi_set_named_property(env, obj, "fwd2d", fn);
  napi_create_function(env, "inv2d", NAPI_AUTO_LENGTH, Inv2d, data, &fn);
  napi_set_named_property(env, obj, "inv2d", fn);
  return obj;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
    {"bind", NULL, Bind, NULL, NULL, NULL, napi_default, NULL},
    {"supported", NULL, Supported, NULL, NULL, NULL, napi_default, NULL},
    {"threadsUsed", NULL, ThreadsUsed, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}
