/**
 * How a convolution runs on the wasm kernels: the geometry of a tiled FFT convolution and the
 * cost model that picks, per pass and shape, direct or FFT convolution and the FFT tile size.
 */
import type { ConvShape } from '../backend.js';

export type ConvAlgorithm = 'direct' | 'fft';
export type ConvPass = 'forward' | 'gradInput' | 'gradWeight';

/** Frequency slots of a T x T real FFT (assembly/fft.ts slotCount). */
export const slotCount = (T: number): number => (T / 2 - 1) * T + T + 2;

/** Geometry of a tiled FFT convolution. */
export interface FftPlan {
  T: number;
  V: number;
  tY: number;
  tX: number;
  numTiles: number;
  G: number;
  F: number;
}

export function fftPlan(s: ConvShape, T: number): FftPlan {
  const V = T - s.kernel + 1;
  const tY = Math.ceil(s.height / V),
    tX = Math.ceil(s.width / V);
  const numTiles = s.batch * tY * tX;
  return { T, V, tY, tX, numTiles, G: Math.ceil(numTiles / 4), F: slotCount(T) };
}

/**
 * Cost model behind the per-shape choice, in seconds on one core, calibrated with
 * bench/kernels.ts (relaxed SIMD, Zen-class core): direct convolution runs at about
 * DIRECT_FLOPS; the FFT path costs its per-frequency products (vector multiply-adds at
 * FFT_FMA) plus its 2D transforms (FFT_TRANSFORM each for 32 x 32 tiles, 4 tiles a time).
 */
const DIRECT_FLOPS = 32e9;
const FFT_FMA = 3.5e9;
const FFT_TRANSFORM = 5e-6;

/** Estimated single-thread seconds of a pass with FFT tiles T. */
function estimateFft(pass: ConvPass, s: ConvShape, T: number): number {
  const { inChannels: C, outChannels: O } = s;
  const plan = fftPlan(s, T);
  const tf = FFT_TRANSFORM * ((T * T * Math.log2(T)) / (32 * 32 * 5));
  const R = pass === 'gradInput' ? O : C;
  const L = pass === 'gradInput' ? C : O;
  const products = (plan.G * plan.F * R * Math.ceil(L / 4) * 4 * 4) / FFT_FMA;
  // input + output tile transforms, plus the filters (about 0.6 of a full transform each)
  const transforms = pass === 'gradWeight' ? plan.G * (C + O) + (O * C) / 4 : plan.G * (R + L) + 0.6 * ((R * Math.ceil(L / 4) * 4) / 4);
  return (products + transforms * tf) * (TILE_CALIBRATION[T] ?? 1);
}

/** Measured / modelled time per tile size (bench/kernels.ts, 7x7 at 64 and 128 pixels). */
const TILE_CALIBRATION: Record<number, number> = { 16: 0.95, 32: 1.08, 64: 1.1 };

/** Estimated single-thread seconds of a pass with each algorithm (FFT: the best tile size). */
export function estimateSeconds(pass: ConvPass, s: ConvShape): { direct: number; fft: number; tile: number } {
  const { batch: N, inChannels: C, outChannels: O, height: H, width: W, kernel: K } = s;
  const direct = (2 * N * H * W * C * O * K * K) / DIRECT_FLOPS;
  let fft = Infinity,
    tile = 0;
  for (const T of fftTiles(K)) {
    const e = estimateFft(pass, s, T);
    if (e < fft) {
      fft = e;
      tile = T;
    }
  }
  return { direct, fft, tile };
}

/** FFT tile sizes usable with a kernel size: each tile yields T - K + 1 >= 4 outputs a side. */
export function fftTiles(K: number): number[] {
  if (K < 3) return [];
  return [16, 32, 64].filter((T) => T - K + 1 >= 4);
}

/** The FFT tile size of a pass: the cheapest by the cost model. */
export function chooseTile(pass: ConvPass, s: ConvShape): number {
  return estimateSeconds(pass, s).tile;
}

/** The per-shape choice between direct and FFT convolution: the cheaper by the cost model. */
export function chooseAlgorithm(pass: ConvPass, s: ConvShape): ConvAlgorithm {
  const e = estimateSeconds(pass, s);
  // The direct kernels need less memory and are the reference: prefer them when close.
  return e.fft < 0.8 * e.direct ? 'fft' : 'direct';
}
