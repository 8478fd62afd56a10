/**
 * The unnormalised 2-D DFT (any size: radix-2 where the length is a power of two, Bluestein
 * otherwise), in float64, and the loss op mean(|FFT2(x)|) with its gradient.
 */
import { Tensor, recordOp, accumulateGrad } from '../tensor.js';
import { allocFloats } from '../storage.js';
import { timed } from '../profile.js';
import { backend } from '../kernels/index.js';
import type { FftTables, Radix2Table, Spectra } from '../kernels/backend.js';

const radix2Tables = new Map<number, Radix2Table>();

/** The (cached) table of length n: twiddles from a table, not a recurrence, so no drift along a row. */
function radix2Table(n: number): Radix2Table {
  let t = radix2Tables.get(n);
  if (!t) {
    const rev = new Int32Array(n);
    for (let i = 1, j = 0; i < n; i++) {
      let bit = n >> 1;
      for (; j & bit; bit >>= 1) j ^= bit;
      j ^= bit;
      rev[i] = j;
    }
    const half = Math.max(1, n >> 1);
    const cos = new Float64Array(half),
      sin = new Float64Array(half);
    for (let j = 0; j < half; j++) {
      cos[j] = Math.cos((2 * Math.PI * j) / n);
      sin[j] = Math.sin((2 * Math.PI * j) / n);
    }
    t = { rev, cos, sin };
    radix2Tables.set(n, t);
  }
  return t;
}

/**
 * In-place iterative radix-2 FFT of `count` interleaved transforms of length n (a power of two):
 * element k of transform c is at (k * stride + c). stride 1, count 1: one row; stride W, count
 * W: all columns of a plane at once, butterflies over whole rows (contiguous, cache-friendly).
 * sign -1: forward, +1: inverse (unscaled).
 */
function fftRadix2(re: Float64Array, im: Float64Array, sign: number, n = re.length, stride = 1, count = 1, base = 0): void {
  const { rev, cos, sin } = radix2Table(n);
  for (let i = 1; i < n; i++) {
    const j = rev[i]!;
    if (i < j) {
      const a = base + i * stride,
        b = base + j * stride;
      for (let c = 0; c < count; c++) {
        let t = re[a + c]!;
        re[a + c] = re[b + c]!;
        re[b + c] = t;
        t = im[a + c]!;
        im[a + c] = im[b + c]!;
        im[b + c] = t;
      }
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const half = len >> 1,
      step = n / len;
    for (let i = 0; i < n; i += len) {
      for (let k = 0; k < half; k++) {
        const cr = cos[k * step]!,
          ci = sign * sin[k * step]!;
        const a = base + (i + k) * stride,
          b = a + half * stride;
        for (let c = 0; c < count; c++) {
          const br = re[b + c]!,
            bi = im[b + c]!;
          const xr = br * cr - bi * ci;
          const xi = br * ci + bi * cr;
          const ar = re[a + c]!,
            ai = im[a + c]!;
          re[b + c] = ar - xr;
          im[b + c] = ai - xi;
          re[a + c] = ar + xr;
          im[a + c] = ai + xi;
        }
      }
    }
  }
}

const isPow2 = (n: number): boolean => (n & (n - 1)) === 0;

/** A 1-D DFT of one fixed length, reusable across many rows. */
class Dft1d {
  private m = 0;
  private chirpRe!: Float64Array;
  private chirpIm!: Float64Array;
  private kernRe!: Float64Array;
  private kernIm!: Float64Array;
  private bufRe!: Float64Array;
  private bufIm!: Float64Array;

  constructor(
    readonly n: number,
    readonly sign: number,
  ) {
    if (isPow2(n)) return;
    // Bluestein: x_k w_k convolved with conj chirp, via power-of-two FFTs of length m >= 2n-1.
    let m = 1;
    while (m < 2 * n - 1) m <<= 1;
    this.m = m;
    this.chirpRe = new Float64Array(n);
    this.chirpIm = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      const a = (sign * Math.PI * ((k * k) % (2 * n))) / n;
      this.chirpRe[k] = Math.cos(a);
      this.chirpIm[k] = Math.sin(a);
    }
    this.kernRe = new Float64Array(m);
    this.kernIm = new Float64Array(m);
    for (let k = 0; k < n; k++) {
      this.kernRe[k] = this.chirpRe[k]!;
      this.kernIm[k] = -this.chirpIm[k]!;
      if (k > 0) {
        this.kernRe[m - k] = this.chirpRe[k]!;
        this.kernIm[m - k] = -this.chirpIm[k]!;
      }
    }
    fftRadix2(this.kernRe, this.kernIm, -1);
    this.bufRe = new Float64Array(m);
    this.bufIm = new Float64Array(m);
  }

  /** Transforms re/im (length n) in place. */
  run(re: Float64Array, im: Float64Array): void {
    const n = this.n;
    if (this.m === 0) {
      fftRadix2(re, im, this.sign);
      return;
    }
    const m = this.m,
      br = this.bufRe,
      bi = this.bufIm;
    br.fill(0);
    bi.fill(0);
    for (let k = 0; k < n; k++) {
      br[k] = re[k]! * this.chirpRe[k]! - im[k]! * this.chirpIm[k]!;
      bi[k] = re[k]! * this.chirpIm[k]! + im[k]! * this.chirpRe[k]!;
    }
    fftRadix2(br, bi, -1);
    for (let k = 0; k < m; k++) {
      const r = br[k]! * this.kernRe[k]! - bi[k]! * this.kernIm[k]!;
      bi[k] = br[k]! * this.kernIm[k]! + bi[k]! * this.kernRe[k]!;
      br[k] = r;
    }
    fftRadix2(br, bi, 1);
    for (let k = 0; k < n; k++) {
      const r = br[k]! / m,
        i = bi[k]! / m;
      re[k] = r * this.chirpRe[k]! - i * this.chirpIm[k]!;
      im[k] = r * this.chirpIm[k]! + i * this.chirpRe[k]!;
    }
  }
}

/** Unnormalised 2-D DFT of an H x W complex plane, in place. sign -1 forward, +1 inverse. */
export function fft2InPlace(re: Float64Array, im: Float64Array, H: number, W: number, sign = -1): void {
  if (isPow2(H) && isPow2(W)) {
    // in place: each row, then all columns at once (butterflies over whole rows)
    for (let h = 0; h < H; h++) fftRadix2(re, im, sign, W, 1, 1, h * W);
    fftRadix2(re, im, sign, H, W, W, 0);
    return;
  }
  const rowT = new Dft1d(W, sign),
    colT = new Dft1d(H, sign);
  const rr = new Float64Array(W),
    ri = new Float64Array(W);
  for (let h = 0; h < H; h++) {
    rr.set(re.subarray(h * W, (h + 1) * W));
    ri.set(im.subarray(h * W, (h + 1) * W));
    rowT.run(rr, ri);
    re.set(rr, h * W);
    im.set(ri, h * W);
  }
  const cr = new Float64Array(H),
    ci = new Float64Array(H);
  for (let w = 0; w < W; w++) {
    for (let h = 0; h < H; h++) {
      cr[h] = re[h * W + w]!;
      ci[h] = im[h * W + w]!;
    }
    colT.run(cr, ci);
    for (let h = 0; h < H; h++) {
      re[h * W + w] = cr[h]!;
      im[h * W + w] = ci[h]!;
    }
  }
}

/**
 * loss = mean over planes and frequencies of |FFT2(x)| for real x of shape [..., H, W].
 * Gradient: d|X_f|/dx = Re(conj(F) (X/|X|)), i.e. the unscaled inverse DFT of X/|X| (0 where X = 0).
 */
export function fftAbsMean(x: Tensor): Tensor {
  return timed('fft loss', () => fftAbsMeanUntimed(x));
}

function fftAbsMeanUntimed(x: Tensor): Tensor {
  const H = x.dim(-2),
    W = x.dim(-1);
  const planes = x.size / (H * W);
  const count = x.size;
  if (isPow2(H) && isPow2(W) && H >= 2 && W >= 4) return realFftAbsMean(x, planes, H, W);
  const phaseRe: Float64Array[] = [],
    phaseIm: Float64Array[] = [];
  let total = 0;
  for (let p = 0; p < planes; p++) {
    const re = new Float64Array(H * W),
      im = new Float64Array(H * W);
    for (let i = 0; i < H * W; i++) re[i] = x.data[p * H * W + i]!;
    fft2InPlace(re, im, H, W, -1);
    for (let i = 0; i < H * W; i++) {
      total += toUnitPhase(re, im, i);
    }
    phaseRe.push(re);
    phaseIm.push(im);
  }
  const out = Tensor.from([1], [total / count]);
  recordOp(out, [x], (g) =>
    timed('fft loss', () => {
      const gx = allocFloats(x.size, false);
      const c = g[0]! / count;
      for (let p = 0; p < planes; p++) {
        const re = phaseRe[p]!,
          im = phaseIm[p]!;
        fft2InPlace(re, im, H, W, 1);
        for (let i = 0; i < H * W; i++) gx[p * H * W + i] = c * re[i]!;
      }
      accumulateGrad(x, gx);
    }),
  );
  return out;
}

/** Replaces the spectrum value re[i] + i im[i] by its phase (modulus 1; 0 stays 0) and returns its modulus. */
function toUnitPhase(re: Float64Array, im: Float64Array, i: number): number {
  const mag = Math.sqrt(re[i]! * re[i]! + im[i]! * im[i]!); // (hypot guards against overflow, 3x slower: float32 inputs cannot overflow here)
  if (mag > 0) {
    re[i] = re[i]! / mag;
    im[i] = im[i]! / mag;
  } else {
    re[i] = 0;
    im[i] = 0;
  }
  return mag;
}

/**
 * The same for power-of-two planes, using that x is real (about half the work): two rows go
 * through one complex row transform (as real and imaginary part) and are separated by symmetry;
 * only the W/2 + 1 non-redundant columns are transformed, and the other columns' moduli are
 * their mirror's (X[h][W-k] = conj(X[-h][k])). The gradient's inverse runs the same way back: its
 * spectrum X/|X| has that symmetry, so its transform is real and two rows share one transform.
 * The backend's kernels, where it has them, give these loops' bits (the moduli are summed per
 * spectrum row, then the rows in order, so that threads can take rows); the spectra live where
 * the step's tensors do.
 */
function realFftAbsMean(x: Tensor, planes: number, H: number, W: number): Tensor {
  const count = x.size;
  const n = planes * H * (W / 2 + 1);
  const spectra: Spectra = { re: allocFloat64(n), im: allocFloat64(n) };
  const tables: FftTables = { width: radix2Table(W), height: radix2Table(H) };
  const rowSums = new Float64Array(planes * H);
  const kb = backend();
  if (kb.fftLossForward) kb.fftLossForward(x.data, planes, H, W, tables, spectra, rowSums);
  else realFftForward(x.data, planes, H, W, spectra, rowSums);
  let total = 0;
  for (let i = 0; i < rowSums.length; i++) total += rowSums[i]!;
  const out = Tensor.from([1], [total / count]);
  recordOp(out, [x], (g) =>
    timed('fft loss', () => {
      const gx = allocFloats(x.size, false);
      const c = g[0]! / count;
      if (kb.fftLossBackward) kb.fftLossBackward(spectra, planes, H, W, tables, c, gx);
      else realFftBackward(spectra, planes, H, W, c, gx);
      accumulateGrad(x, gx);
    }),
  );
  return out;
}

/** n float64 values where allocFloats puts floats (resident in a resident scope). */
function allocFloat64(n: number): Float64Array {
  const f = allocFloats(2 * n, false);
  return new Float64Array(f.buffer, f.byteOffset, n);
}

/** KernelBackend.fftLossForward's loops. */
function realFftForward(xd: Float32Array, planes: number, H: number, W: number, { re, im }: Spectra, rowSums: Float64Array): void {
  const Wh = W / 2 + 1;
  forEachPlane(planes, H, W, (p, o, s, zr, zi) => {
    for (let h = 0; h < H; h += 2) {
      for (let k = 0; k < W; k++) {
        zr[k] = xd[o + h * W + k]!;
        zi[k] = xd[o + (h + 1) * W + k]!;
      }
      fftRadix2(zr, zi, -1);
      // A_k = (Z_k + conj(Z_-k)) / 2, B_k = (Z_k - conj(Z_-k)) / 2i
      for (let k = 0; k < Wh; k++) {
        const m = (W - k) & (W - 1);
        const ar = zr[k]!,
          ai = zi[k]!,
          br = zr[m]!,
          bi = zi[m]!;
        re[s + h * Wh + k] = 0.5 * (ar + br);
        im[s + h * Wh + k] = 0.5 * (ai - bi);
        re[s + (h + 1) * Wh + k] = 0.5 * (ai + bi);
        im[s + (h + 1) * Wh + k] = 0.5 * (br - ar);
      }
    }
    fftRadix2(re, im, -1, H, Wh, Wh, s);
    for (let h = 0; h < H; h++) {
      let sum = 0;
      for (let k = 0; k < Wh; k++) {
        const mag = toUnitPhase(re, im, s + h * Wh + k);
        sum += k === 0 || k === Wh - 1 ? mag : 2 * mag;
      }
      rowSums[p * H + h] = sum;
    }
  });
}

/** KernelBackend.fftLossBackward's loops. */
function realFftBackward({ re, im }: Spectra, planes: number, H: number, W: number, c: number, gx: Float32Array): void {
  const Wh = W / 2 + 1;
  forEachPlane(planes, H, W, (_p, o, s, zr, zi) => {
    fftRadix2(re, im, 1, H, Wh, Wh, s);
    // rows h, h+1 have Hermitian spectra Q_a, Q_b: one inverse of Q_a + i Q_b gives a + i b
    for (let h = 0; h < H; h += 2) {
      const a = s + h * Wh,
        b = a + Wh;
      for (let k = 0; k < Wh; k++) {
        zr[k] = re[a + k]! - im[b + k]!;
        zi[k] = im[a + k]! + re[b + k]!;
      }
      for (let k = Wh; k < W; k++) {
        const m = W - k; // Q[k] = conj(Q[W - k])
        zr[k] = re[a + m]! + im[b + m]!;
        zi[k] = re[b + m]! - im[a + m]!;
      }
      fftRadix2(zr, zi, 1);
      for (let k = 0; k < W; k++) {
        gx[o + h * W + k] = c * zr[k]!;
        gx[o + (h + 1) * W + k] = c * zi[k]!;
      }
    }
  });
}

/** Runs `body` for each plane p with its first value o, its first spectrum value s and a row pair's scratch (W each). */
function forEachPlane(planes: number, H: number, W: number, body: (p: number, o: number, s: number, zr: Float64Array, zi: Float64Array) => void): void {
  const zr = new Float64Array(W),
    zi = new Float64Array(W);
  for (let p = 0; p < planes; p++) body(p, p * H * W, p * H * (W / 2 + 1), zr, zi);
}
