// Products, 2D transforms and tile moves of the FFT convolutions done by native code
// (native/products.c, fft.c, tiles.c) when the host provides it: Node.js on x86-64 with AVX2
// and FMA, with the relaxed-SIMD build only, whose results it reproduces bit for bit. The host
// always supplies the imports; without native code they are stubs that throw, and the switch
// stays 0. The switch is a word of the pool's control block (pool.ts, NATIVE), so that all
// threads follow one setting and a backend can turn it off and on between calls.

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

// @ts-ignore: decorator
@external("env", "gatherFwd2d")
declare function gatherFwd2dImport(B: usize, P: usize, S: usize, T: i32, mAct: i32, lanes: usize, masks: usize, W: i32, zeroRow: usize,
  ahead: usize, leakyDelta: usize, slopeBits: i32, memPages: i32): void;

/** gatherClip (fftconv.ts) then fwd2d, in one call (native/tiles.c). */
// @ts-ignore: decorator
@inline export function nativeGatherFwd2d(B: usize, P: usize, S: usize, T: i32, mAct: i32, lanes: usize, masks: usize, W: i32, zeroRow: usize,
  ahead: usize, leakyDelta: usize, leakySlope: f32): void {
  gatherFwd2dImport(B, P, S, T, mAct, lanes, masks, W, zeroRow, ahead, leakyDelta, reinterpret<i32>(leakySlope), memoryPages());
}

// @ts-ignore: decorator
@external("env", "inv2dScatter")
declare function inv2dScatterImport(S: usize, B: usize, P: usize, T: i32, V: i32, lanes: usize, y: usize, L: i32, o: i32, H: i32, W: i32,
  leaky: i32, slopeBits: i32, memPages: i32): void;

/** inv2d of output o, then inverseOutputs' stores (fftconv.ts), in one call (native/tiles.c). */
// @ts-ignore: decorator
@inline export function nativeInv2dScatter(S: usize, B: usize, P: usize, T: i32, V: i32, lanes: usize, y: usize, L: i32, o: i32, H: i32, W: i32,
  leaky: bool, slope: f32): void {
  inv2dScatterImport(S, B, P, T, V, lanes, y, L, o, H, W, leaky ? 1 : 0, reinterpret<i32>(slope), memoryPages());
}

// @ts-ignore: decorator
@external("env", "storeQuads")
declare function storeQuadsImport(sp: usize, F: i32, n: i32, out: usize, strideF: usize, strideT: usize, memPages: i32): void;

// @ts-ignore: decorator
@inline export function nativeStoreQuads(sp: usize, F: i32, n: i32, out: usize, strideF: usize, strideT: usize): void {
  storeQuadsImport(sp, F, n, out, strideF, strideT, memoryPages());
}
