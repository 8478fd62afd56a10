import type { Random } from '../../util/random.js';

/**
 * Value noise on a periodic lattice of random values, smoothly interpolated (smoothstep):
 * the cheap smooth randomness behind every synthetic texture. Output in [-1, 1].
 */
export class ValueNoise {
  private readonly values: Float32Array;
  private readonly colMask: number;
  private readonly rowMask: number;
  private readonly cols: number;

  /** The lattice is rounded up to powers of two so that wrapping is a bit mask. */
  constructor(rng: Random, cols: number, rows: number) {
    this.cols = powerOfTwoAtLeast(cols);
    const rowCount = powerOfTwoAtLeast(rows);
    this.colMask = this.cols - 1;
    this.rowMask = rowCount - 1;
    this.values = new Float32Array(this.cols * rowCount);
    for (let i = 0; i < this.values.length; i++) this.values[i] = rng.next() * 2 - 1;
  }

  /** x in lattice columns, y in lattice rows; wraps around. */
  at(x: number, y: number): number {
    const fx = Math.floor(x);
    const fy = Math.floor(y);
    const tx = smooth(x - fx);
    const ty = smooth(y - fy);
    const x0 = fx & this.colMask;
    const x1 = (fx + 1) & this.colMask;
    const y0 = (fy & this.rowMask) * this.cols;
    const y1 = ((fy + 1) & this.rowMask) * this.cols;
    const v = this.values;
    const top = v[y0 + x0]! + (v[y0 + x1]! - v[y0 + x0]!) * tx;
    const bottom = v[y1 + x0]! + (v[y1 + x1]! - v[y1 + x0]!) * tx;
    return top + (bottom - top) * ty;
  }
}

/**
 * Fractal sum of value noise over an image of `size` pixels: octave k has cells of
 * `cellPixels / 2^k` pixels and weight 2^-k. Output roughly in [-1, 1].
 */
export class FractalNoise {
  private readonly octaves: { noise: ValueNoise; cell: number; weight: number }[] = [];
  private readonly norm: number;

  constructor(rng: Random, size: number, cellPixels: number, octaves: number) {
    let total = 0;
    for (let k = 0; k < octaves; k++) {
      const cell = Math.max(cellPixels / 2 ** k, 1);
      const count = Math.ceil(size / cell) + 2;
      const weight = 0.5 ** k;
      this.octaves.push({ noise: new ValueNoise(rng, count, count), cell, weight });
      total += weight;
    }
    this.norm = 1 / total;
  }

  at(x: number, y: number): number {
    let sum = 0;
    for (const o of this.octaves) sum += o.noise.at(x / o.cell, y / o.cell) * o.weight;
    return sum * this.norm;
  }
}

function smooth(t: number): number {
  return t * t * (3 - 2 * t);
}

function powerOfTwoAtLeast(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

export function clamp01(v: number): number {
  return v < 0 ? 0 : Math.min(v, 1);
}

/** Symmetric uniform in [-amplitude, amplitude). */
export function jitter(rng: Random, amplitude: number): number {
  return (rng.next() * 2 - 1) * amplitude;
}

/**
 * Per-pixel grain without a call into the seeded generator for every pixel: a fast integer
 * hash of (pixel index, a per-image key). Symmetric uniform in [-amplitude, amplitude).
 */
export class PixelGrain {
  private readonly key: number;

  constructor(rng: Random) {
    this.key = rng.nextUint32();
  }

  at(index: number, amplitude: number): number {
    let h = Math.imul(index ^ this.key, 0x9e3779b1);
    h ^= h >>> 15;
    h = Math.imul(h, 0x85ebca77);
    h ^= h >>> 13;
    return ((h >>> 0) / 2147483648 - 1) * amplitude;
  }
}
