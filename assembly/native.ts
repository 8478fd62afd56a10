// Products and 2D transforms of the FFT convolutions done by native code (native/products.c,
// native/fft.c) when the host provides it: Node.js on x86-64 with AVX2 and FMA, with the
// relaxed-SIMD build only, whose results it reproduces bit for bit. The host always supplies
// the imports; without native code they are stubs that throw, and the switch stays 0. The
// switch is a word of the pool's control block (pool.ts, NATIVE), so that all threads follow
// one setting and a backend can turn it off and on between calls.

// @ts-ignore: decorator
@external("env", "convProducts")
declare function convProductsImport(x0: usize, Ws: usize, Ys: usize, F: i32, R: i32, Lq: i32, o0: i32, o1: i32, memPages: i32): void;

// @ts-ignore: decorator
@external("env", "convProductsPair")
declare function convProductsPairImport(xa: usize, xb: usize, Ws: usize, Ya: usize, Yb: usize, F: i32, R: i32, Lq: i32, o0: i32, o1: i32,
  memPages: i32): void;

// @ts-ignore: decorator
@external("env", "gradWProducts")
declare function gradWProductsImport(Xs: usize, DYs: usize, Racc: usize, C: i32, O: i32, Tn: i32, TnS: i32, txB: usize, tdB: usize,
  q0: i32, q1: i32, accumulate: i32, memPages: i32): void;

/** Pages (64 KiB) of the memory now: the native code checks every array against it (in pages, since 4 GiB overflows a u32). */
// @ts-ignore: decorator
@inline function memoryPages(): i32 {
  return memory.size();
}

// @ts-ignore: decorator
@inline export function nativeConvProducts(x0: usize, Ws: usize, Ys: usize, F: i32, R: i32, Lq: i32, o0: i32, o1: i32): void {
  convProductsImport(x0, Ws, Ys, F, R, Lq, o0, o1, memoryPages());
}

// @ts-ignore: decorator
@inline export function nativeConvProductsPair(xa: usize, xb: usize, Ws: usize, Ya: usize, Yb: usize, F: i32, R: i32, Lq: i32, o0: i32, o1: i32): void {
  convProductsPairImport(xa, xb, Ws, Ya, Yb, F, R, Lq, o0, o1, memoryPages());
}

// @ts-ignore: decorator
@inline export function nativeGradWProducts(Xs: usize, DYs: usize, Racc: usize, C: i32, O: i32, Tn: i32, TnS: i32, txB: usize, tdB: usize,
  q0: i32, q1: i32, accumulate: i32): void {
  gradWProductsImport(Xs, DYs, Racc, C, O, Tn, TnS, txB, tdB, q0, q1, accumulate, memoryPages());
}

// @ts-ignore: decorator
@external("env", "fwd2d")
declare function fwd2dImport(B: usize, P: usize, S: usize, T: i32, mAct: i32, memPages: i32): void;

// @ts-ignore: decorator
@external("env", "inv2d")
declare function inv2dImport(S: usize, B: usize, P: usize, T: i32, mOut: i32, memPages: i32): void;

// @ts-ignore: decorator
@inline export function nativeFwd2d(B: usize, P: usize, S: usize, T: i32, mAct: i32): void {
  fwd2dImport(B, P, S, T, mAct, memoryPages());
}

// @ts-ignore: decorator
@inline export function nativeInv2d(S: usize, B: usize, P: usize, T: i32, mOut: i32): void {
  inv2dImport(S, B, P, T, mOut, memoryPages());
}

/** pool.ts: CTRL_OFFSET + 4 * NATIVE. */
const NATIVE_SWITCH: usize = 65536 + 4 * 6;

/** Whether the native code runs (the pool's switch: the same for every thread of a call). */
// @ts-ignore: decorator
@inline export function useNative(): bool {
  return load<i32>(NATIVE_SWITCH) != 0;
}
