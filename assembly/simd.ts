// Vector helpers shared by every kernel. The same source compiles to two builds: plain
// SIMD128 (separate multiply and add) and relaxed SIMD (fused multiply-add).

// @ts-ignore: decorator
@inline
export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/** c - a*b */
// @ts-ignore: decorator
@inline
export function nmadd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_nmadd(a, b, c);
  return f32x4.sub(c, f32x4.mul(a, b));
}

// @ts-ignore: decorator
@inline
export function hsum(v: v128): f32 {
  const s = f32x4.add(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  const t = f32x4.add(s, v128.shuffle<f32>(s, s, 1, 0, 3, 2));
  return f32x4.extract_lane(t, 0);
}

// @ts-ignore: decorator
@inline
export function splat(p: usize): v128 {
  return v128.load32_splat(p);
}

// @ts-ignore: decorator
@inline
export function ld(p: usize): v128 {
  return v128.load(p);
}

// @ts-ignore: decorator
@inline
export function st(p: usize, v: v128): void {
  v128.store(p, v);
}

// @ts-ignore: decorator
@inline
export function imin(a: i32, b: i32): i32 {
  return a < b ? a : b;
}

// @ts-ignore: decorator
@inline
export function imax(a: i32, b: i32): i32 {
  return a > b ? a : b;
}

/** Two float32 values at p, widened to float64 (the float64 kernels' loads). */
// @ts-ignore: decorator
@inline
export function load2(p: usize): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(p));
}

/** Two float64 values rounded to float32 and stored at p (as JS stores into a Float32Array). */
// @ts-ignore: decorator
@inline
export function store2(p: usize, v: v128): void {
  v128.store64_lane(p, f32x4.demote_f64x2_zero(v), 0);
}

/** Reads the i-th 32-bit parameter of a job block. */
// @ts-ignore: decorator
@inline
export function P(job: usize, i: i32): i32 {
  return load<i32>(job + (<usize>i << 2));
}

// @ts-ignore: decorator
@inline
export function PU(job: usize, i: i32): usize {
  return <usize>load<u32>(job + (<usize>i << 2));
}

/** LeakyReLU of 4 values: x > 0 ? x : slope * x (the map kernel's and the fused convolution output's). */
// @ts-ignore: decorator
@inline
export function leaky4(x: v128, slope: v128): v128 {
  return v128.bitselect(x, f32x4.mul(x, slope), f32x4.gt(x, f32x4.splat(0)));
}

/** The gradient of leaky4 at its input x (or output: the same sign) for the output gradient g: x > 0 ? g : slope * g. */
// @ts-ignore: decorator
@inline
export function leakyGrad4(x: v128, g: v128, slope: v128): v128 {
  return v128.bitselect(g, f32x4.mul(g, slope), f32x4.gt(x, f32x4.splat(0)));
}
