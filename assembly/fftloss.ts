// The Fourier loss's transforms (src/tensor/ops/fft.ts, realFftAbsMean): planes of power-of-two
// H x W real values, float64 as its JS loops, operation for operation (no fused multiply-add;
// twiddles and bit reversals from the JS tables, passed in), so the results are their bits.
// A transform's values never mix with another's, so two transforms side by side in the lanes
// of an f64x2 (two row pairs, two columns) give each one's scalar bits.
//
// Spectra: re, im float64 [planes][H][Wh], Wh = W / 2 + 1 (the non-redundant columns).
// Tables (JS radix2Table of length n): rev int32[n], then cos and sin float64[max(1, n / 2)]
// from the next multiple of 8 bytes.
// Job: [K_FFT_LOSS, phase, x (phase 0) or gx (phase 4), re, im, planes, H, W, tabW, tabH,
//       rowSums (float64 [planes][H], phase 2), scratch, scratchPer, block, c (float64 bits: phase 4's scale, low then high word)]
// Phases: 0 row pairs forward (x -> re, im), 1 columns forward, 2 moduli (re, im -> phases,
// row sums of the moduli), 3 columns inverse, 4 row pairs inverse (re, im -> gx = c * real part).
// Tasks: per plane, blocks of `block` row pairs (0, 4), columns (1, 3) or rows (2).
import { P, PU, imin, imax } from './simd';

// @ts-ignore: decorator
@inline function tabCos(tab: usize, n: i32): usize {
  return tab + ((<usize>n * 4 + 7) & ~(<usize>7));
}
// @ts-ignore: decorator
@inline function tabSin(tab: usize, n: i32): usize {
  return tabCos(tab, n) + (<usize>imax(n >> 1, 1) << 3);
}

/**
 * fft.ts fftRadix2: in-place radix-2 FFT of `count` interleaved transforms of length n, element
 * k of transform c at index base + k * stride + c of the float64 arrays re, im; sign -1 forward,
 * +1 inverse (unscaled).
 */
function fftRadix2(re: usize, im: usize, sign: f64, n: i32, stride: i32, count: i32, base: i32, tab: usize): void {
  const cos = tabCos(tab, n), sin = tabSin(tab, n);
  for (let i = 1; i < n; i++) {
    const j = load<i32>(tab + (<usize>i << 2));
    if (i < j) {
      const a = <usize>(base + i * stride) << 3, b = <usize>(base + j * stride) << 3;
      for (let c = 0; c < count; c++) {
        const o = <usize>c << 3;
        let t = load<f64>(re + a + o);
        store<f64>(re + a + o, load<f64>(re + b + o));
        store<f64>(re + b + o, t);
        t = load<f64>(im + a + o);
        store<f64>(im + a + o, load<f64>(im + b + o));
        store<f64>(im + b + o, t);
      }
    }
  }
  const pairs = count & ~1;
  for (let len = 2; len <= n; len <<= 1) {
    const half = len >> 1, step = n / len;
    for (let i = 0; i < n; i += len) {
      for (let k = 0; k < half; k++) {
        const cr = load<f64>(cos + (<usize>(k * step) << 3)), ci = sign * load<f64>(sin + (<usize>(k * step) << 3));
        const a = <usize>(base + (i + k) * stride) << 3, b = a + (<usize>(half * stride) << 3);
        const vcr = f64x2.splat(cr), vci = f64x2.splat(ci);
        for (let c = 0; c < pairs; c += 2) {
          const o = <usize>c << 3;
          const br = v128.load(re + b + o), bi = v128.load(im + b + o);
          const xr = f64x2.sub(f64x2.mul(br, vcr), f64x2.mul(bi, vci));
          const xi = f64x2.add(f64x2.mul(br, vci), f64x2.mul(bi, vcr));
          const ar = v128.load(re + a + o), ai = v128.load(im + a + o);
          v128.store(re + b + o, f64x2.sub(ar, xr));
          v128.store(im + b + o, f64x2.sub(ai, xi));
          v128.store(re + a + o, f64x2.add(ar, xr));
          v128.store(im + a + o, f64x2.add(ai, xi));
        }
        if (pairs < count) {
          const o = <usize>pairs << 3;
          const br = load<f64>(re + b + o), bi = load<f64>(im + b + o);
          const xr = br * cr - bi * ci;
          const xi = br * ci + bi * cr;
          const ar = load<f64>(re + a + o), ai = load<f64>(im + a + o);
          store<f64>(re + b + o, ar - xr);
          store<f64>(im + b + o, ai - xi);
          store<f64>(re + a + o, ar + xr);
          store<f64>(im + a + o, ai + xi);
        }
      }
    }
  }
}

/**
 * Row pairs (h, h + 1) for h = 2 * q, q in [q0, q1), of plane p: x's two rows as the real and
 * imaginary part of one complex transform, separated by symmetry into re, im rows h and h + 1.
 * Two row pairs at a time, side by side in the scratch (zr, zi: float64 [W][2]).
 */
function rowsForward(x: usize, re: usize, im: usize, p: i32, H: i32, W: i32, q0: i32, q1: i32, tabW: usize, zr: usize, zi: usize): void {
  const Wh = (W >> 1) + 1;
  for (let q = q0; q < q1; q += 2) {
    const lanes = imin(2, q1 - q);
    for (let l = 0; l < lanes; l++) {
      const row = x + (<usize>((p * H + 2 * (q + l)) * W) << 2);
      for (let k = 0; k < W; k++) {
        store<f64>(zr + (<usize>(2 * k + l) << 3), <f64>load<f32>(row + (<usize>k << 2)));
        store<f64>(zi + (<usize>(2 * k + l) << 3), <f64>load<f32>(row + (<usize>(W + k) << 2)));
      }
    }
    fftRadix2(zr, zi, -1, W, 2, lanes, 0, tabW);
    for (let l = 0; l < lanes; l++) {
      const h = 2 * (q + l);
      const r0 = re + (<usize>((p * H + h) * Wh) << 3), i0 = im + (<usize>((p * H + h) * Wh) << 3);
      const r1 = r0 + (<usize>Wh << 3), i1 = i0 + (<usize>Wh << 3);
      // A_k = (Z_k + conj(Z_-k)) / 2, B_k = (Z_k - conj(Z_-k)) / 2i
      for (let k = 0; k < Wh; k++) {
        const m = (W - k) & (W - 1);
        const ar = load<f64>(zr + (<usize>(2 * k + l) << 3)), ai = load<f64>(zi + (<usize>(2 * k + l) << 3));
        const br = load<f64>(zr + (<usize>(2 * m + l) << 3)), bi = load<f64>(zi + (<usize>(2 * m + l) << 3));
        store<f64>(r0 + (<usize>k << 3), 0.5 * (ar + br));
        store<f64>(i0 + (<usize>k << 3), 0.5 * (ai - bi));
        store<f64>(r1 + (<usize>k << 3), 0.5 * (ai + bi));
        store<f64>(i1 + (<usize>k << 3), 0.5 * (br - ar));
      }
    }
  }
}

/** The inverse of rowsForward's transforms: gx rows h, h + 1 = c * (real, imaginary part). */
function rowsInverse(gx: usize, re: usize, im: usize, p: i32, H: i32, W: i32, q0: i32, q1: i32, c: f64, tabW: usize, zr: usize, zi: usize): void {
  const Wh = (W >> 1) + 1;
  for (let q = q0; q < q1; q += 2) {
    const lanes = imin(2, q1 - q);
    for (let l = 0; l < lanes; l++) {
      const h = 2 * (q + l);
      const a = <usize>((p * H + h) * Wh), b = a + <usize>Wh;
      // rows h, h+1 have Hermitian spectra Q_a, Q_b: one inverse of Q_a + i Q_b gives a + i b
      for (let k = 0; k < Wh; k++) {
        const o = <usize>(2 * k + l) << 3;
        store<f64>(zr + o, load<f64>(re + ((a + k) << 3)) - load<f64>(im + ((b + k) << 3)));
        store<f64>(zi + o, load<f64>(im + ((a + k) << 3)) + load<f64>(re + ((b + k) << 3)));
      }
      for (let k = Wh; k < W; k++) {
        const m = <usize>(W - k); // Q[k] = conj(Q[W - k])
        const o = <usize>(2 * k + l) << 3;
        store<f64>(zr + o, load<f64>(re + ((a + m) << 3)) + load<f64>(im + ((b + m) << 3)));
        store<f64>(zi + o, load<f64>(re + ((b + m) << 3)) - load<f64>(im + ((a + m) << 3)));
      }
    }
    fftRadix2(zr, zi, 1, W, 2, lanes, 0, tabW);
    for (let l = 0; l < lanes; l++) {
      const row = gx + (<usize>((p * H + 2 * (q + l)) * W) << 2);
      for (let k = 0; k < W; k++) {
        store<f32>(row + (<usize>k << 2), <f32>(c * load<f64>(zr + (<usize>(2 * k + l) << 3))));
        store<f32>(row + (<usize>(W + k) << 2), <f32>(c * load<f64>(zi + (<usize>(2 * k + l) << 3))));
      }
    }
  }
}

/** Rows [h0, h1) of plane p: each spectrum value replaced by its phase (0 stays 0), the row's sum of moduli (doubled but for columns 0 and W/2). */
function moduli(re: usize, im: usize, rowSums: usize, p: i32, H: i32, Wh: i32, h0: i32, h1: i32): void {
  for (let h = h0; h < h1; h++) {
    const o = <usize>((p * H + h) * Wh) << 3;
    let s: f64 = 0;
    for (let k = 0; k < Wh; k++) {
      const a = re + o + (<usize>k << 3), b = im + o + (<usize>k << 3);
      const r = load<f64>(a), i = load<f64>(b);
      const mag = Math.sqrt(r * r + i * i);
      if (mag > 0) {
        store<f64>(a, r / mag);
        store<f64>(b, i / mag);
      } else {
        store<f64>(a, 0);
        store<f64>(b, 0);
      }
      s += k == 0 || k == Wh - 1 ? mag : 2 * mag;
    }
    store<f64>(rowSums + (<usize>(p * H + h) << 3), s);
  }
}

export function fftLossTask(job: usize, t: i32, thread: i32): void {
  const phase = P(job, 1), xg = PU(job, 2), re = PU(job, 3), im = PU(job, 4);
  const H = P(job, 6), W = P(job, 7);
  const tabW = PU(job, 8), tabH = PU(job, 9), rowSums = PU(job, 10);
  const block = P(job, 13);
  const Wh = (W >> 1) + 1;
  const units = phase == 0 || phase == 4 ? H >> 1 : phase == 2 ? H : Wh;
  const per = (units + block - 1) / block;
  const p = t / per, u0 = (t - p * per) * block, u1 = imin(units, u0 + block);
  const zr = PU(job, 11) + <usize>thread * PU(job, 12), zi = zr + (<usize>W << 4);
  if (phase == 0) rowsForward(xg, re, im, p, H, W, u0, u1, tabW, zr, zi);
  else if (phase == 1 || phase == 3) fftRadix2(re, im, phase == 1 ? -1 : 1, H, Wh, u1 - u0, p * H * Wh + u0, tabH);
  else if (phase == 2) moduli(re, im, rowSums, p, H, Wh, u0, u1);
  else rowsInverse(xg, re, im, p, H, W, u0, u1, load<f64>(job + 56), tabW, zr, zi);
}
