// Elementwise kernels: vectorised float32 atan and exp (Cephes atanf / expf style, a few ulps),
// the soft clamp, LeakyReLU, and the coupling's fused affine tail (forward and backward).
// Every function of a value is written once, for a vector: the scalar tails of a loop run the
// same code on a splat, so that an element's result does not depend on where it falls.
import { P, PU, imin, madd, nmadd, leaky4, leakyGrad4 } from './simd';
import {
  MAP_EXP, MAP_SOFT_CLAMP, MAP_LEAKY, MAP_ADD, MAP_SUB, MAP_MUL,
  A_SOFT, A_CVN, A_SVN, A_APPLY, A_MEAN_SHIFT, A_SAME, A_HAVE_S, A_INVERSE,
} from './kernel-ids';

// @ts-ignore: decorator
@inline
function vsplat(c: f32): v128 {
  return f32x4.splat(c);
}

/**
 * atan(x), Cephes atanf: reduction to |t| <= tan(pi/8) by atan(x) = pi/2 + atan(-1/x) (x >
 * tan(3pi/8)) or pi/4 + atan((x-1)/(x+1)) (x > tan(pi/8)), then an odd polynomial of degree 9.
 * Peak relative error about 2e-7 (measured in test/tensor/kernels). NaN in, NaN out; +-inf -> +-pi/2.
 */
// @ts-ignore: decorator
@inline
export function atan4(x: v128): v128 {
  const ax = f32x4.abs(x);
  const sgn = v128.xor(x, ax);
  const one = f32x4(1.0, 1.0, 1.0, 1.0);
  const big = f32x4.gt(ax, f32x4(2.414213562373095, 2.414213562373095, 2.414213562373095, 2.414213562373095));
  const mid = f32x4.gt(ax, f32x4(0.4142135623730950, 0.4142135623730950, 0.4142135623730950, 0.4142135623730950));
  const num = v128.bitselect(f32x4(-1.0, -1.0, -1.0, -1.0), v128.bitselect(f32x4.sub(ax, one), ax, mid), big);
  const den = v128.bitselect(ax, v128.bitselect(f32x4.add(ax, one), one, mid), big);
  const y0 = v128.bitselect(
    f32x4(1.5707963267948966, 1.5707963267948966, 1.5707963267948966, 1.5707963267948966),
    v128.and(f32x4(0.7853981633974483, 0.7853981633974483, 0.7853981633974483, 0.7853981633974483), mid),
    big,
  );
  const t = f32x4.div(num, den);
  const z = f32x4.mul(t, t);
  let p = madd(f32x4(8.05374449538e-2, 8.05374449538e-2, 8.05374449538e-2, 8.05374449538e-2), z,
    f32x4(-1.38776856032e-1, -1.38776856032e-1, -1.38776856032e-1, -1.38776856032e-1));
  p = madd(p, z, f32x4(1.99777106478e-1, 1.99777106478e-1, 1.99777106478e-1, 1.99777106478e-1));
  p = madd(p, z, f32x4(-3.33329491539e-1, -3.33329491539e-1, -3.33329491539e-1, -3.33329491539e-1));
  p = f32x4.mul(p, z);
  const r = f32x4.add(y0, madd(p, t, t));
  return v128.xor(r, sgn);
}

/**
 * exp(x), Cephes expf: n = round(x / ln 2), r = x - n ln 2 (two-constant Cody-Waite), a degree-7
 * polynomial, times 2^n applied as two halves so that n = 128 (overflow to inf) and n < -126
 * (gradual underflow) come out right. Peak relative error about 1e-7. NaN in, NaN out.
 */
// @ts-ignore: decorator
@inline
export function exp4(x: v128): v128 {
  // pmax/pmin keep a NaN first operand
  const xc = f32x4.pmin(f32x4.pmax(x, f32x4(-104.0, -104.0, -104.0, -104.0)), f32x4(88.8, 88.8, 88.8, 88.8));
  // n = round(x / ln 2): adding 1.5 * 2^23 rounds to an integer, which the low mantissa bits hold
  const magic = f32x4(12582912.0, 12582912.0, 12582912.0, 12582912.0);
  const t = f32x4.add(f32x4.mul(xc, f32x4(1.44269504088896341, 1.44269504088896341, 1.44269504088896341, 1.44269504088896341)), magic);
  const n = f32x4.sub(t, magic);
  let r = nmadd(n, f32x4(0.693359375, 0.693359375, 0.693359375, 0.693359375), xc);
  r = nmadd(n, f32x4(-2.12194440e-4, -2.12194440e-4, -2.12194440e-4, -2.12194440e-4), r);
  const z = f32x4.mul(r, r);
  let p = madd(f32x4(1.9875691500e-4, 1.9875691500e-4, 1.9875691500e-4, 1.9875691500e-4), r,
    f32x4(1.3981999507e-3, 1.3981999507e-3, 1.3981999507e-3, 1.3981999507e-3));
  p = madd(p, r, f32x4(8.3334519073e-3, 8.3334519073e-3, 8.3334519073e-3, 8.3334519073e-3));
  p = madd(p, r, f32x4(4.1665795894e-2, 4.1665795894e-2, 4.1665795894e-2, 4.1665795894e-2));
  p = madd(p, r, f32x4(1.6666665459e-1, 1.6666665459e-1, 1.6666665459e-1, 1.6666665459e-1));
  p = madd(p, r, f32x4(5.0000001201e-1, 5.0000001201e-1, 5.0000001201e-1, 5.0000001201e-1));
  const e = f32x4.add(madd(p, z, r), f32x4(1.0, 1.0, 1.0, 1.0));
  // 2^n as two factors 2^(n >> 1) and 2^(n - (n >> 1)), each a normal float for n in [-150, 128]
  const ni = i32x4.sub(t, i32x4(0x4b400000, 0x4b400000, 0x4b400000, 0x4b400000));
  const n1 = i32x4.shr_s(ni, 1);
  const n2 = i32x4.sub(ni, n1);
  const bias = i32x4(127, 127, 127, 127);
  const s1 = i32x4.shl(i32x4.add(n1, bias), 23);
  const s2 = i32x4.shl(i32x4.add(n2, bias), 23);
  return f32x4.mul(f32x4.mul(e, s1), s2);
}

/** The soft clamp cc * atan(x * inv) (cc = clamp * 0.636, inv = 1 / clamp). */
// @ts-ignore: decorator
@inline
export function softClamp4(x: v128, cc: v128, inv: v128): v128 {
  return f32x4.mul(cc, atan4(f32x4.mul(x, inv)));
}

/**
 * s * x + t rounded once (as the float64 arithmetic of the JS reference): the inverse of a
 * coupling, (y - t) / s, then undoes it to within rounding. Fused multiply-add in the relaxed
 * build; float64 products and sums in the plain one.
 */
// @ts-ignore: decorator
@inline
function affine4(s: v128, x: v128, t: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(s, x, t);
  const lo = f64x2.add(f64x2.mul(f64x2.promote_low_f32x4(s), f64x2.promote_low_f32x4(x)), f64x2.promote_low_f32x4(t));
  const s1 = v128.shuffle<f32>(s, s, 2, 3, 2, 3), x1 = v128.shuffle<f32>(x, x, 2, 3, 2, 3), t1 = v128.shuffle<f32>(t, t, 2, 3, 2, 3);
  const hi = f64x2.add(f64x2.mul(f64x2.promote_low_f32x4(s1), f64x2.promote_low_f32x4(x1)), f64x2.promote_low_f32x4(t1));
  return v128.shuffle<f32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
}


// @ts-ignore: decorator
@inline
function lane0(p: usize): v128 {
  return v128.load32_zero(p);
}

// @ts-ignore: decorator
@inline
function store0(p: usize, v: v128): void {
  v128.store32_lane(p, v, 0);
}

/**
 * Elementwise maps over [t*chunk, min(n, (t+1)*chunk)) (chunk a multiple of 4).
 * job: [kind, op, a, b, dst, n, chunk, f0, f1] (f0, f1: float32 bits)
 * op MAP_EXP: dst = exp(a); MAP_SOFT_CLAMP: dst = f0 * atan(a * f1); MAP_LEAKY: dst =
 * leakyRelu(a, slope f0); MAP_LEAKY_GRAD: dst = a > 0 ? b : f0 * b (a = input, b = output
 * gradient); MAP_ADD, MAP_SUB, MAP_MUL: dst = a + b, a - b, a * b. dst may be a or b (in place).
 */
export function mapTask(job: usize, t: i32): void {
  const op = P(job, 1);
  const a = PU(job, 2), b = PU(job, 3), d = PU(job, 4);
  const n = P(job, 5), chunk = P(job, 6);
  const f0 = vsplat(reinterpret<f32>(P(job, 7))), f1 = vsplat(reinterpret<f32>(P(job, 8)));
  const i0 = t * chunk, i1 = imin(n, i0 + chunk);
  const v1 = i0 + ((i1 - i0) & ~3);
  const e0 = <usize>i0 << 2, ev = <usize>v1 << 2, e1 = <usize>i1 << 2;
  if (op == MAP_EXP) {
    for (let o = e0; o < ev; o += 16) v128.store(d + o, exp4(v128.load(a + o)));
    for (let o = ev; o < e1; o += 4) store0(d + o, exp4(lane0(a + o)));
  } else if (op == MAP_SOFT_CLAMP) {
    for (let o = e0; o < ev; o += 16) v128.store(d + o, softClamp4(v128.load(a + o), f0, f1));
    for (let o = ev; o < e1; o += 4) store0(d + o, softClamp4(lane0(a + o), f0, f1));
  } else if (op == MAP_LEAKY) {
    for (let o = e0; o < ev; o += 16) v128.store(d + o, leaky4(v128.load(a + o), f0));
    for (let o = ev; o < e1; o += 4) store0(d + o, leaky4(lane0(a + o), f0));
  } else if (op == MAP_ADD) {
    for (let o = e0; o < ev; o += 16) v128.store(d + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
    for (let o = ev; o < e1; o += 4) store0(d + o, f32x4.add(lane0(a + o), lane0(b + o)));
  } else if (op == MAP_SUB) {
    for (let o = e0; o < ev; o += 16) v128.store(d + o, f32x4.sub(v128.load(a + o), v128.load(b + o)));
    for (let o = ev; o < e1; o += 4) store0(d + o, f32x4.sub(lane0(a + o), lane0(b + o)));
  } else if (op == MAP_MUL) {
    for (let o = e0; o < ev; o += 16) v128.store(d + o, f32x4.mul(v128.load(a + o), v128.load(b + o)));
    for (let o = ev; o < e1; o += 4) store0(d + o, f32x4.mul(lane0(a + o), lane0(b + o)));
  } else { // MAP_LEAKY_GRAD
    for (let o = e0; o < ev; o += 16) v128.store(d + o, leakyGrad4(v128.load(a + o), v128.load(b + o), f0));
    for (let o = ev; o < e1; o += 4) store0(d + o, leakyGrad4(lane0(a + o), lane0(b + o), f0));
  }
}

// ---------------------------------------------------------------------------------------------
// The fused affine tail. Tasks are bands of rows [r0, r1) of the affine resolution h x w, each
// over all N*C planes, so that per-pixel sums over the planes (CVN) stay within a task. When
// x is H x W != h x w, the rows of y that read the band are rowStart[r0] .. rowStart[r1) (the
// nearest row index is monotone).

// Flags of the affine jobs (values: kernel-ids.ts, from the backend's table):
// A_SOFT     forward: s = softClamp(raw) into scl
// A_CVN      training, cvn: per-pixel float64 sums over the planes, mean written, then applied
// A_SVN      training, svn: per-(band, plane) float64 partial sums into part
// A_APPLY    apply the mean: forward: exp and y; backward: through the mean and the soft clamp
// A_HAVE_S   forward: s already in scl (from an earlier job)
// A_SAME     h x w == H x W
// A_INVERSE  forward job: x = (y - shift) / scale from y (in the x slot) instead of y = scale * x + shift
// mean kind, 2 bits from A_MEAN_SHIFT: 0 scalar mean[0], 1 per pixel mean[p], 2 per channel mean[c], 3 none (zero)

/** The mean vector of a plane when it does not vary by pixel (kinds 0, 2, 3). */
// @ts-ignore: decorator
@inline
function planeMean(kind: i32, mean: usize, c: i32): v128 {
  if (kind == 2) return v128.load32_splat(mean + (<usize>c << 2));
  if (kind == 0) return v128.load32_splat(mean);
  return f32x4.splat(0);
}

// Loops over the bytes [e0, e1) of a plane (ev: end of the whole vectors), each inlined with
// constant flags. Long chains (atan then exp, exp then the gradients) are split into separate
// loops over the chunk (a few KiB, in the L1 cache): V8 keeps fewer vector constants live
// and the loops run 10-25% faster than one fused loop (measured; exp with the affine map
// stays fused, which was faster).

/** dst = softClamp(src) */
// @ts-ignore: decorator
@inline
function softClampRange(src: usize, dst: usize, e0: usize, ev: usize, e1: usize, cc: v128, inv: v128): void {
  for (let o = e0; o < ev; o += 16) v128.store(dst + o, softClamp4(v128.load(src + o), cc, inv));
  for (let o = ev; o < e1; o += 4) store0(dst + o, softClamp4(lane0(src + o), cc, inv));
}

/** dst = exp(src - mean), mean per pixel (pix) or mv */
// @ts-ignore: decorator
@inline
function expRange(src: usize, dst: usize, mean: usize, mv: v128, pix: bool, e0: usize, ev: usize, e1: usize): void {
  for (let o = e0; o < ev; o += 16) v128.store(dst + o, exp4(f32x4.sub(v128.load(src + o), pix ? v128.load(mean + o) : mv)));
  for (let o = ev; o < e1; o += 4) store0(dst + o, exp4(f32x4.sub(lane0(src + o), pix ? lane0(mean + o) : mv)));
}

/** y = exp(src - mean) * x + shift (y may be src) */
// @ts-ignore: decorator
@inline
function expAffineRange(src: usize, mean: usize, mv: v128, pix: bool, x: usize, shift: usize, y: usize, e0: usize, ev: usize, e1: usize): void {
  for (let o = e0; o < ev; o += 16) {
    const e = exp4(f32x4.sub(v128.load(src + o), pix ? v128.load(mean + o) : mv));
    v128.store(y + o, affine4(e, v128.load(x + o), v128.load(shift + o)));
  }
  for (let o = ev; o < e1; o += 4) {
    const e = exp4(f32x4.sub(lane0(src + o), pix ? lane0(mean + o) : mv));
    store0(y + o, affine4(e, lane0(x + o), lane0(shift + o)));
  }
}

/** out = (y - shift) / exp(src - mean), float32 subtract then divide (out may be src) */
// @ts-ignore: decorator
@inline
function expInverseRange(src: usize, mean: usize, mv: v128, pix: bool, y: usize, shift: usize, out: usize, e0: usize, ev: usize, e1: usize): void {
  for (let o = e0; o < ev; o += 16) {
    const e = exp4(f32x4.sub(v128.load(src + o), pix ? v128.load(mean + o) : mv));
    v128.store(out + o, f32x4.div(f32x4.sub(v128.load(y + o), v128.load(shift + o)), e));
  }
  for (let o = ev; o < e1; o += 4) {
    const e = exp4(f32x4.sub(lane0(src + o), pix ? lane0(mean + o) : mv));
    store0(out + o, f32x4.div(f32x4.sub(lane0(y + o), lane0(shift + o)), e));
  }
}

/** acc (float64, per pixel) = src (first) or += src */
// @ts-ignore: decorator
@inline
function accumRange(src: usize, acc: usize, e0: usize, ev: usize, e1: usize, first: bool): void {
  for (let o = e0; o < ev; o += 16) {
    const v = v128.load(src + o);
    const lo = f64x2.promote_low_f32x4(v);
    const hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3));
    const q = acc + (o << 1);
    if (first) {
      v128.store(q, lo);
      v128.store(q, hi, 16);
    } else {
      v128.store(q, f64x2.add(v128.load(q), lo));
      v128.store(q, f64x2.add(v128.load(q, 16), hi), 16);
    }
  }
  for (let o = ev; o < e1; o += 4) {
    const q = acc + (o << 1);
    const v = <f64>load<f32>(src + o);
    store<f64>(q, first ? v : load<f64>(q) + v);
  }
}

/** The float64 sum of src. */
// @ts-ignore: decorator
@inline
function sumRange(src: usize, e0: usize, ev: usize, e1: usize): f64 {
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
  for (let o = e0; o < ev; o += 16) {
    const v = v128.load(src + o);
    s0 = f64x2.add(s0, f64x2.promote_low_f32x4(v));
    s1 = f64x2.add(s1, f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3)));
  }
  const v = f64x2.add(s0, s1);
  let sum = f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
  for (let o = ev; o < e1; o += 4) sum += <f64>load<f32>(src + o);
  return sum;
}

/** mean = float32(acc / count) per pixel */
// @ts-ignore: decorator
@inline
function meanRange(acc: usize, mean: usize, count: i32, e0: usize, ev: usize, e1: usize): void {
  const cv = f64x2.splat(<f64>count);
  for (let o = e0; o < ev; o += 16) {
    const q = acc + (o << 1);
    const lo = f32x4.demote_f64x2_zero(f64x2.div(v128.load(q), cv));
    const hi = f32x4.demote_f64x2_zero(f64x2.div(v128.load(q, 16), cv));
    v128.store(mean + o, v128.shuffle<f32>(lo, hi, 0, 1, 4, 5));
  }
  for (let o = ev; o < e1; o += 4) store<f32>(mean + o, <f32>(load<f64>(acc + (o << 1)) / <f64>count));
}

/** Per-plane sums of a band: cvn (per pixel into acc) or svn (one float64 per (band, plane) into part). */
// @ts-ignore: decorator
@inline
function planeSums(src: usize, acc: usize, part: usize, e0: usize, ev: usize, e1: usize, cvn: bool, first: bool): void {
  if (cvn) {
    if (first) accumRange(src, acc, e0, ev, e1, true);
    else accumRange(src, acc, e0, ev, e1, false);
  } else store<f64>(part, sumRange(src, e0, ev, e1));
}

/**
 * Forward. job: [kind, raw, x, scl, y, mean, acc, N, C, h, w, H, W, rows, flags, cc, inv,
 * ri, ci, rowStart, part] (cc, inv: float32 bits; ri [H], ci [W], rowStart [h+1]: i32).
 * scl [N][C][h][w]: s, then scale. acc: float64 [h*w] (cvn sums). part: float64 [bands][N*C].
 */
export function affineForwardTask(job: usize, t: i32): void {
  const raw = PU(job, 1), x = PU(job, 2), scl = PU(job, 3), y = PU(job, 4), mean = PU(job, 5), acc = PU(job, 6);
  const N = P(job, 7), C = P(job, 8), h = P(job, 9), w = P(job, 10), H = P(job, 11), W = P(job, 12);
  const rows = P(job, 13), flags = P(job, 14);
  const cc = vsplat(reinterpret<f32>(P(job, 15))), inv = vsplat(reinterpret<f32>(P(job, 16)));
  const ri = PU(job, 17), ci = PU(job, 18), rowStart = PU(job, 19), part = PU(job, 20);
  const r0 = t * rows, r1 = imin(h, r0 + rows);
  const hw = h * w, NC = N * C;
  const planeB = <usize>hw << 2, xPlaneB = <usize>(H * W) << 2;
  const e0 = <usize>(r0 * w) << 2, e1 = <usize>(r1 * w) << 2;
  const ev = e0 + ((e1 - e0) & ~15);
  const cvn = (flags & A_CVN) != 0, svn = (flags & A_SVN) != 0;
  const same = (flags & A_SAME) != 0;
  const inverse = (flags & A_INVERSE) != 0;
  if (flags & A_SOFT) {
    for (let k = 0; k < NC; k++) {
      const n = k / C, c = k - n * C;
      const dst = scl + <usize>k * planeB;
      softClampRange(raw + <usize>(n * 2 * C + c) * planeB, dst, e0, ev, e1, cc, inv);
      if (cvn || svn) planeSums(dst, acc, part + (<usize>(t * NC + k) << 3), e0, ev, e1, cvn, k == 0);
    }
    if (cvn) meanRange(acc, mean, NC, e0, ev, e1);
  }
  if (!(flags & A_APPLY)) return;
  const mk = (flags >> A_MEAN_SHIFT) & 3;
  const pix = mk == 1;
  const haveS = (flags & (A_SOFT | A_HAVE_S)) != 0;
  for (let k = 0; k < NC; k++) {
    const n = k / C, c = k - n * C;
    const sk = scl + <usize>k * planeB;
    // without s in scl (evaluation), the soft clamp goes to the plane's output first
    const dst = same ? y + <usize>k * xPlaneB : sk;
    let src = sk;
    if (!haveS) {
      softClampRange(raw + <usize>(n * 2 * C + c) * planeB, dst, e0, ev, e1, cc, inv);
      src = dst;
    }
    const mv = planeMean(mk, mean, c);
    if (same) {
      const xp = x + <usize>k * xPlaneB, shift = raw + <usize>(n * 2 * C + C + c) * planeB;
      if (inverse) {
        if (pix) expInverseRange(src, mean, mv, true, xp, shift, dst, e0, ev, e1);
        else expInverseRange(src, mean, mv, false, xp, shift, dst, e0, ev, e1);
      } else if (pix) expAffineRange(src, mean, mv, true, xp, shift, dst, e0, ev, e1);
      else expAffineRange(src, mean, mv, false, xp, shift, dst, e0, ev, e1);
    } else if (pix) expRange(src, dst, mean, mv, true, e0, ev, e1);
    else expRange(src, dst, mean, mv, false, e0, ev, e1);
  }
  if (same) return;
  // y = nearest(scale) * x + nearest(shift) for the rows of y that read this band
  const i0 = load<i32>(rowStart + (<usize>r0 << 2)), i1 = load<i32>(rowStart + (<usize>r1 << 2));
  for (let k = 0; k < NC; k++) {
    const n = k / C, c = k - n * C;
    const sc = scl + <usize>k * planeB, shift = raw + <usize>(n * 2 * C + C + c) * planeB;
    const xp = x + <usize>k * xPlaneB, yp = y + <usize>k * xPlaneB;
    for (let i = i0; i < i1; i++) {
      const sr = load<i32>(ri + (<usize>i << 2)) * w;
      const row = <usize>(i * W) << 2;
      for (let j = 0; j < W; j++) {
        const q = <usize>(sr + load<i32>(ci + (<usize>j << 2))) << 2;
        const o = row + (<usize>j << 2);
        if (inverse) store<f32>(yp + o, (load<f32>(xp + o) - load<f32>(shift + q)) / load<f32>(sc + q));
        else store<f32>(yp + o, <f32>(<f64>load<f32>(sc + q) * <f64>load<f32>(xp + o) + <f64>load<f32>(shift + q)));
      }
    }
  }
}

/**
 * Backward. job: [kind, gy, raw, x, scl, gx, graw, mean, acc, N, C, h, w, H, W, rows, flags,
 * cc, inv, ri, ci, rowStart, part, gmean, d]. gx 0: not wanted. scl: scratch [N][C][h][w]
 * (scale, when sizes differ). gmean: float32, the mean of the log-scale gradient (cvn: [h*w],
 * written here; svn: [C], given to the A_APPLY job). d = cc * inv (float32 bits).
 * flags: A_SOFT (here: first phase: scale recomputed, gradients of scale and shift, gx),
 * A_CVN / A_SVN sums as in the forward, A_APPLY (through the mean and the soft clamp).
 * The log-scale gradient is kept in graw's first C channels between the phases.
 */
export function affineBackwardTask(job: usize, t: i32): void {
  const gy = PU(job, 1), raw = PU(job, 2), x = PU(job, 3), scl = PU(job, 4), gx = PU(job, 5), graw = PU(job, 6);
  const mean = PU(job, 7), acc = PU(job, 8);
  const N = P(job, 9), C = P(job, 10), h = P(job, 11), w = P(job, 12), H = P(job, 13), W = P(job, 14);
  const rows = P(job, 15), flags = P(job, 16);
  const cc = vsplat(reinterpret<f32>(P(job, 17))), inv = vsplat(reinterpret<f32>(P(job, 18)));
  const ri = PU(job, 19), ci = PU(job, 20), rowStart = PU(job, 21), part = PU(job, 22), gmean = PU(job, 23);
  const dv = vsplat(reinterpret<f32>(P(job, 24)));
  const r0 = t * rows, r1 = imin(h, r0 + rows);
  const hw = h * w, NC = N * C;
  const planeB = <usize>hw << 2, xPlaneB = <usize>(H * W) << 2;
  const e0 = <usize>(r0 * w) << 2, e1 = <usize>(r1 * w) << 2;
  const ev = e0 + ((e1 - e0) & ~15);
  const cvn = (flags & A_CVN) != 0, svn = (flags & A_SVN) != 0;
  const same = (flags & A_SAME) != 0;
  const mk = (flags >> A_MEAN_SHIFT) & 3;
  const pix = mk == 1;
  if (flags & A_SOFT) {
    const i0 = same ? 0 : load<i32>(rowStart + (<usize>r0 << 2));
    const i1 = same ? 0 : load<i32>(rowStart + (<usize>r1 << 2));
    for (let k = 0; k < NC; k++) {
      const n = k / C, c = k - n * C;
      const gs = graw + <usize>(n * 2 * C + c) * planeB, gsh = graw + <usize>(n * 2 * C + C + c) * planeB;
      const xp = x + <usize>k * xPlaneB, gyp = gy + <usize>k * xPlaneB, gxp = gx + <usize>k * xPlaneB;
      // scale, recomputed as in the forward: into gs (same sizes) or scl
      const sc = same ? gs : scl + <usize>k * planeB;
      softClampRange(raw + <usize>(n * 2 * C + c) * planeB, sc, e0, ev, e1, cc, inv);
      const mv = planeMean(mk, mean, c);
      if (pix) expRange(sc, sc, mean, mv, true, e0, ev, e1);
      else expRange(sc, sc, mean, mv, false, e0, ev, e1);
      if (same) {
        // gx = g * scale, gshift = g, gs = g * x * scale (over the scale in gs)
        for (let o = e0; o < ev; o += 16) {
          const s = v128.load(gs + o), g = v128.load(gyp + o);
          if (gx) v128.store(gxp + o, f32x4.mul(g, s));
          v128.store(gsh + o, g);
          v128.store(gs + o, f32x4.mul(f32x4.mul(g, v128.load(xp + o)), s));
        }
        for (let o = ev; o < e1; o += 4) {
          const s = lane0(gs + o), g = lane0(gyp + o);
          if (gx) store0(gxp + o, f32x4.mul(g, s));
          store0(gsh + o, g);
          store0(gs + o, f32x4.mul(f32x4.mul(g, lane0(xp + o)), s));
        }
      } else {
        memory.fill(gs + e0, 0, e1 - e0);
        memory.fill(gsh + e0, 0, e1 - e0);
        for (let i = i0; i < i1; i++) {
          const sr = load<i32>(ri + (<usize>i << 2)) * w;
          const row = <usize>(i * W) << 2;
          for (let j = 0; j < W; j++) {
            const q = <usize>(sr + load<i32>(ci + (<usize>j << 2))) << 2;
            const o = row + (<usize>j << 2);
            const g = load<f32>(gyp + o);
            if (gx) store<f32>(gxp + o, g * load<f32>(sc + q));
            store<f32>(gs + q, load<f32>(gs + q) + g * load<f32>(xp + o));
            store<f32>(gsh + q, load<f32>(gsh + q) + g);
          }
        }
        for (let o = e0; o < ev; o += 16) v128.store(gs + o, f32x4.mul(v128.load(gs + o), v128.load(sc + o)));
        for (let o = ev; o < e1; o += 4) store0(gs + o, f32x4.mul(lane0(gs + o), lane0(sc + o)));
      }
      if (cvn || svn) planeSums(gs, acc, part + (<usize>(t * NC + k) << 3), e0, ev, e1, cvn, k == 0);
    }
    if (cvn) meanRange(acc, gmean, NC, e0, ev, e1);
  }
  if (!(flags & A_APPLY)) return;
  // graw[:, :C] = (gs - gmean) * d / (1 + u^2), u = raw[:, :C] * inv
  const one = f32x4(1.0, 1.0, 1.0, 1.0);
  for (let k = 0; k < NC; k++) {
    const n = k / C, c = k - n * C;
    const rs = raw + <usize>(n * 2 * C + c) * planeB;
    const gs = graw + <usize>(n * 2 * C + c) * planeB;
    const gm = svn ? v128.load32_splat(gmean + (<usize>c << 2)) : f32x4.splat(0);
    for (let o = e0; o < ev; o += 16) {
      const u = f32x4.mul(v128.load(rs + o), inv);
      const g = f32x4.mul(f32x4.sub(v128.load(gs + o), cvn ? v128.load(gmean + o) : gm), dv);
      v128.store(gs + o, f32x4.div(g, madd(u, u, one)));
    }
    for (let o = ev; o < e1; o += 4) {
      const u = f32x4.mul(lane0(rs + o), inv);
      const g = f32x4.mul(f32x4.sub(lane0(gs + o), cvn ? lane0(gmean + o) : gm), dv);
      store0(gs + o, f32x4.div(g, madd(u, u, one)));
    }
  }
}

/**
 * Kind 20: a register-only loop of vector multiply-adds (8 independent accumulators, n rounds),
 * the machine's ceiling for compute-bound kernels; benchmarks run it on 1 and on all threads to
 * see what the cores deliver at the time (a shared machine's second core may be slower, or
 * share a physical core). The result goes to job + 64 + (t % 8)*16 (unused words of the job
 * block) so that the loop is kept.
 * job: [kind, n]
 */
export function fmaLoopTask(job: usize, t: i32): void {
  const n = P(job, 1);
  const x = f32x4.splat(0.999), y = f32x4.splat(0.001);
  let a0 = x, a1 = y, a2 = x, a3 = y, a4 = x, a5 = y, a6 = x, a7 = y;
  for (let i = 0; i < n; i++) {
    a0 = madd(a0, x, y); a1 = madd(a1, x, y); a2 = madd(a2, x, y); a3 = madd(a3, x, y);
    a4 = madd(a4, x, y); a5 = madd(a5, x, y); a6 = madd(a6, x, y); a7 = madd(a7, x, y);
  }
  v128.store(job + 64 + (<usize>(t & 7) << 4), f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), f32x4.add(f32x4.add(a4, a5), f32x4.add(a6, a7))));
}
