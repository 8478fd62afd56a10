/**
 * Two bilinear resizes:
 *
 * - `resizePlane`: classic bilinear with half-pixel centres and edge clamping, the same as
 *   PyTorch `interpolate(mode='bilinear', align_corners=False)` and cv2 INTER_LINEAR. No
 *   antialiasing. For anomaly maps (which are only ever enlarged, where all methods agree).
 *
 * - `pilResample*`: Pillow's BILINEAR `Image.resize`, which the official PyramidFlow code uses
 *   (torchvision `transforms.Resize` on a PIL image). It is a triangle filter whose support
 *   widens by the scale factor when shrinking (so it antialiases), applied horizontally then
 *   vertically. The uint8 variant reproduces Pillow's 22-bit fixed-point arithmetic and the
 *   uint8 rounding of the intermediate image; the float variant is Pillow's mode 'F' path
 *   (double accumulation, float32 storage), which the official code uses for masks.
 *   When enlarging, it equals `resizePlane` up to rounding.
 */

export function resizePlane(src: Float32Array, h: number, w: number, outH: number, outW: number): Float32Array {
  checkSizes(src.length, h, w, outH, outW);
  const out = new Float32Array(outH * outW);
  const xs = linearTaps(w, outW);
  const ys = linearTaps(h, outH);
  for (let y = 0; y < outH; y++) {
    const r0 = ys.index0[y]! * w;
    const r1 = ys.index1[y]! * w;
    const fy = ys.frac[y]!;
    for (let x = 0; x < outW; x++) {
      const x0 = xs.index0[x]!;
      const x1 = xs.index1[x]!;
      const fx = xs.frac[x]!;
      const top = src[r0 + x0]! + (src[r0 + x1]! - src[r0 + x0]!) * fx;
      const bottom = src[r1 + x0]! + (src[r1 + x1]! - src[r1 + x0]!) * fx;
      out[y * outW + x] = top + (bottom - top) * fy;
    }
  }
  return out;
}

interface LinearTaps {
  index0: Int32Array;
  index1: Int32Array;
  frac: Float64Array;
}

function linearTaps(inSize: number, outSize: number): LinearTaps {
  const index0 = new Int32Array(outSize);
  const index1 = new Int32Array(outSize);
  const frac = new Float64Array(outSize);
  const scale = inSize / outSize;
  for (let i = 0; i < outSize; i++) {
    // PyTorch clamps negative source coordinates to 0 (align_corners=False, linear modes).
    const source = Math.max((i + 0.5) * scale - 0.5, 0);
    const i0 = Math.min(Math.floor(source), inSize - 1);
    index0[i] = i0;
    index1[i] = Math.min(i0 + 1, inSize - 1);
    frac[i] = source - i0;
  }
  return { index0, index1, frac };
}

/** Pillow's per-output-pixel filter window: first input index, tap count, normalised weights. */
interface PilCoefficients {
  start: Int32Array;
  count: Int32Array;
  /** outSize x kernelSize, row-major, zero past `count`. */
  weights: Float64Array;
  kernelSize: number;
}

function pilCoefficients(inSize: number, outSize: number): PilCoefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 1 * filterScale; // bilinear (triangle) support is 1
  const kernelSize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * kernelSize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C's (int) truncates toward zero; clamping to 0 afterwards makes it match either way.
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    // Multiplying by the reciprocal (not dividing) keeps the weights bit-identical to Pillow's.
    const reciprocal = 1 / filterScale;
    let total = 0;
    for (let x = 0; x < xmax; x++) {
      const t = Math.abs((x + xmin - center + 0.5) * reciprocal);
      const weight = t < 1 ? 1 - t : 0;
      weights[xx * kernelSize + x] = weight;
      total += weight;
    }
    if (total !== 0) for (let x = 0; x < xmax; x++) weights[xx * kernelSize + x]! /= total;
    start[xx] = xmin;
    count[xx] = xmax;
  }
  return { start, count, weights, kernelSize };
}

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 1 << PRECISION_BITS;

function fixedPoint(coefficients: PilCoefficients): Int32Array {
  const fixed = new Int32Array(coefficients.weights.length);
  coefficients.weights.forEach((w, i) => {
    fixed[i] = w < 0 ? Math.trunc(-0.5 + w * ONE) : Math.trunc(0.5 + w * ONE);
  });
  return fixed;
}

function clip8(accumulated: number): number {
  if (accumulated >= ONE * 256) return 255;
  if (accumulated <= 0) return 0;
  return accumulated >> PRECISION_BITS;
}

/**
 * Pillow BILINEAR resize of `planes` uint8 planes of h x w (planar), to outH x outW.
 * Bit-exact with Pillow (checked against Pillow 9.4 in the tests).
 */
export function pilResampleUint8(src: Uint8Array, planes: number, h: number, w: number, outH: number, outW: number): Uint8Array {
  checkSizes(src.length, planes * h, w, outH, outW);
  const needHorizontal = outW !== w;
  const needVertical = outH !== h;
  let current = src;
  let currentW = w;
  if (needHorizontal) {
    const c = pilCoefficients(w, outW);
    const k = fixedPoint(c);
    const tmp = new Uint8Array(planes * h * outW);
    for (let row = 0; row < planes * h; row++) {
      const rowIn = row * w;
      for (let xx = 0; xx < outW; xx++) {
        let acc = 1 << (PRECISION_BITS - 1);
        const first = c.start[xx]!;
        const base = xx * c.kernelSize;
        for (let x = 0; x < c.count[xx]!; x++) acc += src[rowIn + first + x]! * k[base + x]!;
        tmp[row * outW + xx] = clip8(acc);
      }
    }
    current = tmp;
    currentW = outW;
  }
  if (!needVertical) return needHorizontal ? current : src.slice();
  const c = pilCoefficients(h, outH);
  const k = fixedPoint(c);
  const out = new Uint8Array(planes * outH * currentW);
  // Row-wise accumulation keeps memory access sequential; sums stay exact integers.
  const acc = new Float64Array(currentW);
  for (let p = 0; p < planes; p++) {
    const planeIn = p * h * currentW;
    const planeOut = p * outH * currentW;
    for (let yy = 0; yy < outH; yy++) {
      acc.fill(1 << (PRECISION_BITS - 1));
      const first = c.start[yy]!;
      const base = yy * c.kernelSize;
      for (let y = 0; y < c.count[yy]!; y++) {
        const weight = k[base + y]!;
        const row = planeIn + (first + y) * currentW;
        for (let x = 0; x < currentW; x++) acc[x]! += current[row + x]! * weight;
      }
      const rowOut = planeOut + yy * currentW;
      for (let x = 0; x < currentW; x++) out[rowOut + x] = clip8(acc[x]!);
    }
  }
  return out;
}

/** Pillow BILINEAR resize of a float32 plane (Pillow mode 'F'). */
export function pilResampleFloat(src: Float32Array, h: number, w: number, outH: number, outW: number): Float32Array {
  checkSizes(src.length, h, w, outH, outW);
  let current = src;
  if (outW !== w) {
    const c = pilCoefficients(w, outW);
    const tmp = new Float32Array(h * outW);
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < outW; xx++) {
        let acc = 0;
        const first = c.start[xx]!;
        const base = xx * c.kernelSize;
        for (let x = 0; x < c.count[xx]!; x++) acc += current[y * w + first + x]! * c.weights[base + x]!;
        tmp[y * outW + xx] = acc;
      }
    }
    current = tmp;
  }
  if (outH === h) return current === src ? src.slice() : current;
  const c = pilCoefficients(h, outH);
  const out = new Float32Array(outH * outW);
  for (let yy = 0; yy < outH; yy++) {
    const first = c.start[yy]!;
    const base = yy * c.kernelSize;
    for (let x = 0; x < outW; x++) {
      let acc = 0;
      for (let y = 0; y < c.count[yy]!; y++) acc += current[(first + y) * outW + x]! * c.weights[base + y]!;
      out[yy * outW + x] = acc;
    }
  }
  return out;
}

function checkSizes(length: number, h: number, w: number, outH: number, outW: number): void {
  for (const [name, v] of [
    ['height', h],
    ['width', w],
    ['output height', outH],
    ['output width', outW],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new RangeError(`resize: ${name} must be a positive integer, got ${v}`);
  }
  if (length !== h * w) throw new RangeError(`resize: expected ${h * w} values for ${h} x ${w}, got ${length}`);
}
