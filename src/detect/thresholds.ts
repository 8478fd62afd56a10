/**
 * Thresholds a user without defect images can trust: from anomaly maps of good images that the
 * model did not train on, the image-score and pixel thresholds that give a chosen false-positive
 * rate, plus a fixed colour scale for heat maps.
 */
import type { Thresholds } from './types.js';
import { maxOf } from './inference.js';
import type { Range } from '../util/range.js';

/** The allowed false-positive rates: strictly between 0 and 1. */
export const FPR_RANGE: Range = { above: 0, below: 1 };

export const DEFAULT_FPR = { image: 0.01, pixel: 0.001 };

/**
 * The smallest threshold t such that at most floor(rate * n) of the values are > t: the order
 * statistic just below the allowed number of exceedances. Also says when n is too small for
 * the rate to be resolved (then t is the maximum, and no good value exceeds it).
 */
export function upperQuantile(values: Float32Array, rate: number): { threshold: number; resolved: boolean } {
  const sorted = Float32Array.from(values).sort();
  const n = sorted.length;
  const allowed = Math.floor(rate * n);
  return { threshold: sorted[n - 1 - allowed]!, resolved: allowed >= 1 };
}

export function calibrateThresholds(goodMaps: readonly Float32Array[], fpr: { image?: number; pixel?: number }, source: Thresholds['source']): Thresholds {
  if (goodMaps.length === 0) throw new Error('calibrateThresholds: no good images');
  const imageFpr = fpr.image ?? DEFAULT_FPR.image;
  const pixelFpr = fpr.pixel ?? DEFAULT_FPR.pixel;
  const scores = Float32Array.from(goodMaps.map(maxOf));
  const total = goodMaps.reduce((s, m) => s + m.length, 0);
  const pixels = new Float32Array(total);
  let off = 0;
  for (const m of goodMaps) {
    pixels.set(m, off);
    off += m.length;
  }
  const img = upperQuantile(scores, imageFpr);
  const pix = upperQuantile(pixels, pixelFpr);
  const notes: string[] = [];
  if (!img.resolved) {
    notes.push(
      `only ${goodMaps.length} good image(s) set the image threshold: a false-positive rate of ${imageFpr} needs at least ` +
        `${Math.ceil(1 / imageFpr)}; the threshold is the highest good score seen`,
    );
  }
  if (source === 'train') notes.push('thresholds were set on the training images themselves (--holdout 0): expect more false positives on new good images');
  // Colour scale: from the median good pixel to well past the image threshold, fixed in the model.
  const sortedPixels = pixels.sort();
  const scaleMin = sortedPixels[Math.floor(sortedPixels.length / 2)]!;
  const scaleMax = Math.max(img.threshold, pix.threshold) * 1.5;
  return {
    image: img.threshold,
    pixel: pix.threshold,
    imageFpr,
    pixelFpr,
    source,
    images: goodMaps.length,
    note: notes.length ? notes.join('; ') : undefined,
    scaleMin,
    scaleMax: scaleMax > scaleMin ? scaleMax : scaleMin + 1e-6,
  };
}

/** Maps a raw score so that the image threshold becomes 0.5, on the model's colour scale, clamped to [0, 1]. */
export function normalizeScore(score: number, t: Thresholds): number {
  const v = 0.5 + (score - t.image) / (t.scaleMax - t.scaleMin);
  return Math.min(1, Math.max(0, v));
}
