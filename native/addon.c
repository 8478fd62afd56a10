// The Node-API side of the native kernels (native-kernels.ts): bind() makes the functions that
// the WebAssembly kernels import (assembly/native.ts) over one shared memory; each call checks
// its arguments and that every array it touches lies inside the memory, and throws otherwise.
#define NAPI_VERSION 8
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <string.h>

#include "kernels.h"

/** Threads that have called a product function (threadsUsed(): tests check that workers do). */
static int threadsUsed = 0;
static __thread int calledHere = 0;

/**
 * Reads the call's argc numbers (the last is the memory's current size in 64 KiB pages, which
 * the kernels pass); returns the memory's base (bound by bind()), or NULL with an exception pending.
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
  *memBytes = (size_t)out[argc - 1] * 65536; /* the memory's size comes in pages */
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

/** Whether F slots, R reduction channels, Lq outputs and the pair-aligned range [o0, o1) make a product call; throws when not. */
static int productShape(napi_env env, double F, double R, double Lq, double o0, double o1) {
  if (F >= 1 && R >= 1 && Lq >= 2 && o0 <= o1 && o1 <= Lq && !((int)o0 & 1) && !((int)o1 & 1)) return 1;
  napi_throw_error(env, NULL, "native products: bad convolution shape");
  return 0;
}

/** convProducts(x0, Ws, Ys, F, R, Lq, o0, o1, memBytes) */
static napi_value ConvProducts(napi_env env, napi_callback_info info) {
  double a[9];
  size_t memBytes;
  uint8_t *mem = readArgs(env, info, 9, a, &memBytes);
  if (!mem) return NULL;
  const double F = a[3], R = a[4], Lq = a[5], o0 = a[6], o1 = a[7];
  if (!productShape(env, F, R, Lq, o0, o1) || !inside(env, a[0], R * F * 32, memBytes) || !inside(env, a[1], F * R * Lq * 8, memBytes) ||
      !inside(env, a[2], (o1 - o0) * F * 32, memBytes))
    return NULL;
  convProducts(mem, (uint32_t)a[0], (uint32_t)a[1], (uint32_t)a[2], (int)F, (int)R, (int)Lq, (int)o0, (int)o1);
  return NULL;
}

/** convProductsPair(xa0, xb0, Ws, Ya, Yb, F, R, Lq, o0, o1, memBytes): convProducts of two tile groups */
static napi_value ConvProductsPair(napi_env env, napi_callback_info info) {
  double a[11];
  size_t memBytes;
  uint8_t *mem = readArgs(env, info, 11, a, &memBytes);
  if (!mem) return NULL;
  const double F = a[5], R = a[6], Lq = a[7], o0 = a[8], o1 = a[9];
  if (!productShape(env, F, R, Lq, o0, o1) || !inside(env, a[0], R * F * 32, memBytes) || !inside(env, a[1], R * F * 32, memBytes) || !inside(env, a[2], F * R * Lq * 8, memBytes) ||
      !inside(env, a[3], (o1 - o0) * F * 32, memBytes) || !inside(env, a[4], (o1 - o0) * F * 32, memBytes))
    return NULL;
  convProductsPair(mem, (uint32_t)a[0], (uint32_t)a[1], (uint32_t)a[2], (uint32_t)a[3], (uint32_t)a[4], (int)F, (int)R, (int)Lq, (int)o0,
                   (int)o1);
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

/** Whether T is a tile size of the native transforms. */
static int tileSize(int T) { return T == 16 || T == 32 || T == 64; }

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
  if (!tileSize(T) || rows < 0 || rows > T / 2) return fail(env, "native products: bad transform shape");
  const double B = inverse ? a[1] : a[0], S = inverse ? a[0] : a[2];
  if (!inside(env, B, rows * T * 32.0, memBytes) || !inside(env, S, nativeFftSlots(T) * 32.0, memBytes) || !inside(env, a[inverse ? 2 : 1], T * 32.0, memBytes))
    return NULL;
  if (inverse) nativeInv2d(mem, (uint32_t)a[0], (uint32_t)a[1], (uint32_t)a[2], T, rows);
  else nativeFwd2d(mem, (uint32_t)a[0], (uint32_t)a[1], (uint32_t)a[2], T, rows);
  return NULL;
}

static napi_value Fwd2d(napi_env env, napi_callback_info info) { return transform2d(env, info, 0); }
static napi_value Inv2d(napi_env env, napi_callback_info info) { return transform2d(env, info, 1); }

/** Throws when a tile move (tiles.c) refused a row outside the memory (status -1); returns NULL. */
static napi_value moved(napi_env env, int status) {
  if (status) napi_throw_range_error(env, NULL, "native products: a tile row lies outside the kernels' memory");
  return NULL;
}

/** The f32 whose bits the kernels passed as an i32 (read back as unsigned). */
static float floatBits(double bits) {
  const uint32_t u = (uint32_t)bits;
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

/**
 * gatherFwd2d(B, P, S, T, mAct, lanes, masks, W, zeroRow, ahead, leakyDelta, slopeBits, memBytes)
 * (tiles.c): gatherClip (fftconv.ts) of 4 tiles into B, then fwd2d.
 */
static napi_value GatherFwd2d(napi_env env, napi_callback_info info) {
  double a[13];
  size_t memBytes;
  uint8_t *mem = readArgs(env, info, 13, a, &memBytes);
  if (!mem) return NULL;
  const int T = (int)a[3], mAct = (int)a[4];
  if (!tileSize(T) || mAct < 0 || mAct > T / 2 || a[7] < 1) return fail(env, "native products: bad transform shape");
  if (!inside(env, a[0], mAct * T * 32.0, memBytes) || !inside(env, a[1], T * 32.0, memBytes) || !inside(env, a[2], nativeFftSlots(T) * 32.0, memBytes) ||
      !inside(env, a[5], 4 * 64.0, memBytes) || !inside(env, a[6], T / 4 * 64.0, memBytes))
    return NULL;
  return moved(env, nativeGatherFwd2d(mem, memBytes, (uint32_t)a[0], (uint32_t)a[1], (uint32_t)a[2], T, mAct, (uint32_t)a[5], (uint32_t)a[6],
                                       (int)a[7], (uint32_t)a[8], (uint32_t)a[9], (uint32_t)a[10], floatBits(a[11])));
}

/**
 * inv2dScatter(S, B, P, T, V, lanes, y, L, o, H, W, leaky, slopeBits, memBytes) (tiles.c):
 * inv2d of output channel o of 4 tiles, then inverseOutputs' stores (fftconv.ts) into y.
 */
static napi_value Inv2dScatter(napi_env env, napi_callback_info info) {
  double a[14];
  size_t memBytes;
  uint8_t *mem = readArgs(env, info, 14, a, &memBytes);
  if (!mem) return NULL;
  const int T = (int)a[3], V = (int)a[4];
  if (!tileSize(T) || V < 1 || V > T || a[7] < 1 || a[8] >= a[7] || a[9] < 1 || a[10] < 1) return fail(env, "native products: bad transform shape");
  if (!inside(env, a[0], nativeFftSlots(T) * 32.0, memBytes) || !inside(env, a[1], ((V + 1) >> 1) * T * 32.0, memBytes) ||
      !inside(env, a[2], T * 32.0, memBytes) || !inside(env, a[5], 4 * 64.0, memBytes))
    return NULL;
  return moved(env, nativeInv2dScatter(mem, memBytes, (uint32_t)a[0], (uint32_t)a[1], (uint32_t)a[2], T, V, (uint32_t)a[5], (uint32_t)a[6],
                                        (int)a[7], (int)a[8], (int)a[9], (int)a[10], a[11] != 0, floatBits(a[12])));
}

/** storeQuads(sp, F, n, out, strideF, strideT, memBytes) (tiles.c): spectra of 4 tiles as frequency quads. */
static napi_value StoreQuads(napi_env env, napi_callback_info info) {
  double a[7];
  size_t memBytes;
  uint8_t *mem = readArgs(env, info, 7, a, &memBytes);
  if (!mem) return NULL;
  const double F = a[1], n = a[2], strideF = a[4], strideT = a[5];
  if (F < 1 || n < 0 || strideT < n * 32 || strideF < 4 * strideT) return fail(env, "native products: bad quad layout");
  if (n > 0 && (!inside(env, a[0], n * F * 32, memBytes) || !inside(env, a[3], (ceil(F / 4) - 1) * strideF + 3 * strideT + n * 32, memBytes))) return NULL;
  nativeStoreQuads(mem, (uint32_t)a[0], (int)F, (int)n, (uint32_t)a[3], (uint64_t)strideF, (uint64_t)strideT);
  return NULL;
}

/** supported(): whether this processor runs the AVX2 + FMA code. */
static napi_value Supported(napi_env env, napi_callback_info info) {
  (void)info;
  __builtin_cpu_init();
  napi_value v;
  napi_get_boolean(env, __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"), &v);
  return v;
}

/**
 * bind(view): the products, transforms and tile moves over the memory `view` (a Uint8Array over
 * the kernels' shared memory) as { convProducts, convProductsPair, gradWProducts, fwd2d, inv2d,
 * gatherFwd2d, inv2dScatter, storeQuads }, the kernel instance's imports. A shared memory
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
  napi_create_function(env, "convProductsPair", NAPI_AUTO_LENGTH, ConvProductsPair, data, &fn);
  napi_set_named_property(env, obj, "convProductsPair", fn);
  napi_create_function(env, "gradWProducts", NAPI_AUTO_LENGTH, GradWProducts, data, &fn);
  napi_set_named_property(env, obj, "gradWProducts", fn);
  napi_create_function(env, "fwd2d", NAPI_AUTO_LENGTH, Fwd2d, data, &fn);
  napi_set_named_property(env, obj, "fwd2d", fn);
  napi_create_function(env, "inv2d", NAPI_AUTO_LENGTH, Inv2d, data, &fn);
  napi_set_named_property(env, obj, "inv2d", fn);
  napi_create_function(env, "gatherFwd2d", NAPI_AUTO_LENGTH, GatherFwd2d, data, &fn);
  napi_set_named_property(env, obj, "gatherFwd2d", fn);
  napi_create_function(env, "inv2dScatter", NAPI_AUTO_LENGTH, Inv2dScatter, data, &fn);
  napi_set_named_property(env, obj, "inv2dScatter", fn);
  napi_create_function(env, "storeQuads", NAPI_AUTO_LENGTH, StoreQuads, data, &fn);
  napi_set_named_property(env, obj, "storeQuads", fn);
  return obj;
}

/**
 * The imports this addon makes, as a number: native-kernels.ts's NATIVE_KERNELS_VERSION must
 * equal it, or the addon (built from other sources) is not used. Raise both with any change of
 * bind()'s functions or their arguments.
 */
#define KERNELS_VERSION 4

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
    {"bind", NULL, Bind, NULL, NULL, NULL, napi_default, NULL},
    {"supported", NULL, Supported, NULL, NULL, NULL, napi_default, NULL},
    {"threadsUsed", NULL, ThreadsUsed, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  napi_value version;
  napi_create_int32(env, KERNELS_VERSION, &version);
  napi_set_named_property(env, exports, "version", version);
  return exports;
}
