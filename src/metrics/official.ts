/**
 * What the official PyramidFlow code (gasharper/PyramidFlow, util.py compute_pro_score_fast)
 * reports as "PRO". It is NOT the standard AUPRO: maps are min-max normalised over the whole
 * test set, only 200 thresholds are tried, and the curve is integrated over the full FPR range
 * it covers, with no FPR limit and no normalisation.
 *
 * Reproduced here: normalised value v = (a - min) / (max - min) in float32 as torch computes it;
 * thresholds t_i = i * float32(1/200), i = 0..199, rounded to float32 as numpy's float32 arange
 * produces them; a pixel is positive at t_i when v > t_i (strict); region pixels (8-connected,
 * skimage's default) weigh 1 / (area x number of regions); the area is sklearn.metrics.auc of
 * (FPR_i, PRO_i). Sums are in float64 where the official code uses float32, so results agree to
 * about 1e-6.
 */

import { keyToFloat32 } from './sort.js';

/** Number of thresholds the official code tries. */
export const OFFICIAL_THRESHOLDS = 200;

const thresholdValues = (() => {
  const delta = Math.fround(1 / OFFICIAL_THRESHOLDS);
  const values = new Float64Array(OFFICIAL_THRESHOLDS);
  for (let i = 0; i < OFFICIAL_THRESHOLDS; i++) values[i] = Math.fround(i * delta);
  return values;
})();

/** The official thresholds (float32 values), exported for tests. */
export function officialThresholds(): number[] {
  return Array.from(thresholdValues);
}

/**
 * The official PRO from the pixels' sorted keys (ascending; see sort.ts): the normalised value is
 * monotone in the score, so "v > t_i" is "key >= boundary_i" for the first key whose value
 * exceeds t_i, and the counts above each threshold come from one binary search per threshold
 * over the normal pixels and one pass over the anomalous ones. NaN when there is no normal
 * pixel, no region, or the maps are constant.
 */
export function officialProFromSortedKeys(
  negativeKeys: Uint32Array,
  positiveKeys: Uint32Array,
  positiveRegion: Uint32Array,
  regionWeight: Float64Array,
  minKey: number,
  maxKey: number,
): number {
  const normals = negativeKeys.length;
  const regions = regionWeight.length;
  const minValue = keyToFloat32(minKey);
  const range = Math.fround(keyToFloat32(maxKey) - minValue);
  if (normals === 0 || regions === 0 || !(range > 0) || range === Infinity) return NaN;
  // As torch computes (a - min) / (max - min) in float32.
  const normalised = (key: number): number => Math.fround(Math.fround(keyToFloat32(key) - minValue) / range);

  const normalAbove = new Float64Array(OFFICIAL_THRESHOLDS);
  const weightAbove = new Float64Array(OFFICIAL_THRESHOLDS);
  let weight = 0;
  let j = positiveKeys.length - 1;
  for (let i = OFFICIAL_THRESHOLDS - 1; i >= 0; i--) {
    const threshold = thresholdValues[i]!;
    // The first key in [minKey, maxKey] whose normalised value exceeds the threshold; maxKey's is 1.
    let lo = minKey;
    let hi = maxKey;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (normalised(mid) > threshold) hi = mid;
      else lo = mid + 1;
    }
    normalAbove[i] = normals - lowerBound(negativeKeys, lo);
    while (j >= 0 && positiveKeys[j]! >= lo) weight += regionWeight[positiveRegion[j--]!]!;
    weightAbove[i] = weight;
  }
  // sklearn.metrics.auc over (FPR_i, PRO_i): FPR falls as i grows, so the area is the negated
  // trapezoid sum, written here with FPR differences taken the other way.
  let area = 0;
  for (let i = 0; i + 1 < OFFICIAL_THRESHOLDS; i++) {
    const fprDrop = (normalAbove[i]! - normalAbove[i + 1]!) / normals;
    area += (fprDrop * (weightAbove[i]! + weightAbove[i + 1]!)) / regions / 2;
  }
  return area;
}

/** Index of the first element >= value in an ascending array. */
function lowerBound(sorted: Uint32Array, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
