/**
 * Pixel-level metrics over all pixels of all test images together: pixel ROC AUC, pixel F1 max,
 * the standard AUPRO (MVTec AD evaluation code) and the official code's PRO, in two passes over
 * the maps plus a radix sort, O(n) memory of about 4 bytes per normal pixel and 8 per anomalous
 * pixel besides the inputs.
 */
import { officialProFromSortedKeys } from './official.js';
import { labelRegions } from './regions.js';
import { BUCKET_COUNT, bitsToKey, bucketStarts, isNanKey, keyToFloat32, sortBuckets } from './sort.js';
import { sweepSortedKeys, ThresholdSweep, type SweepResult } from './sweep.js';
import type { AuproResult } from './types.js';

/** Anomaly maps of a set of images with their ground truth. */
export interface MapSet {
  /** One anomaly map per image, row-major, `widths[i] * heights[i]` values. */
  maps: Float32Array[];
  /** Nonzero = anomalous pixel; null = an image without anomalous pixels. */
  masks: (Uint8Array | null)[];
  /** Width of each map in pixels. */
  widths: number[];
  /** Height of each map in pixels. */
  heights: number[];
}

/** The false-positive rate the AUPRO integrates up to by default (MVTec AD's 0.3). */
export const DEFAULT_FPR_LIMIT = 0.3;
/** Most points kept of each curve for plotting. */
export const DEFAULT_CURVE_POINTS = 500;

/**
 * Standard AUPRO as the MVTec AD evaluation code computes it: 8-connected ground-truth regions
 * per mask; all pixels of all images sorted together by score, descending; FPR = normal pixels
 * so far / all normal pixels; PRO = sum of 1/|region| over region pixels so far / number of
 * regions; one point per distinct score (the last of a run of ties); (0, 0) prepended;
 * trapezoids up to `fprLimit`, the last one to a point interpolated at the limit; divided by
 * `fprLimit`. FPR is float64 here (float32 there). NaN, with an empty curve, when there is no
 * anomalous or no normal pixel. The curve is thinned to at most `maxCurvePoints` points for
 * plotting (Infinity keeps them all).
 */
export function aupro(
  maps: Float32Array[],
  masks: (Uint8Array | null)[],
  widths: number[],
  heights: number[],
  fprLimit = DEFAULT_FPR_LIMIT,
  maxCurvePoints = DEFAULT_CURVE_POINTS,
): AuproResult {
  const { sweep } = pixelMetrics({ maps, masks, widths, heights }, { fprLimit, curvePoints: maxCurvePoints, officialPro: false });
  const curve = sweep.pro.x.length > 1 ? { fpr: sweep.pro.x, pro: sweep.pro.y } : { fpr: [], pro: [] };
  return { aupro: sweep.aupro, curve };
}

/**
 * The official PyramidFlow code's "PRO" (see official.ts): not the standard AUPRO, reported
 * next to it only to compare with the paper's numbers. NaN when undefined.
 */
export function officialPro(maps: Float32Array[], masks: (Uint8Array | null)[], widths: number[], heights: number[]): number {
  const set = { maps, masks, widths, heights };
  validateMapSet(set);
  const scan = scanMaps(set);
  const sorted = gatherSortedKeys(set, scan);
  return officialFromScan(sorted, scan);
}

/** What {@link pixelMetrics} computes besides the sweep. */
export interface PixelMetricOptions {
  /** False-positive rate limit of the AUPRO, in (0, 1]. */
  fprLimit: number;
  /** Most points kept of the ROC and PRO curves (at least 3; Infinity keeps all). */
  curvePoints: number;
  /** Also compute the official code's PRO (a second pass over the sorted scores). */
  officialPro: boolean;
}

/** Pixel-level results. */
export interface PixelMetrics {
  /** ROC AUC, F1 max, AUPRO and curves over all pixels. */
  sweep: SweepResult;
  /** The official code's PRO; NaN unless asked for (or undefined). */
  proFull: number;
  /** Each map's maximum: the image score. */
  imageMax: Float64Array;
}

/** Throws a RangeError unless every map, mask, width and height agree in number and size. */
export function validateMapSet(set: MapSet): void {
  const { maps, masks, widths, heights } = set;
  const images = maps.length;
  if (masks.length !== images || widths.length !== images || heights.length !== images) {
    throw new RangeError(`metrics: ${images} maps but ${masks.length} masks, ${widths.length} widths, ${heights.length} heights`);
  }
  for (let i = 0; i < images; i++) {
    const pixels = widths[i]! * heights[i]!;
    if (!Number.isInteger(pixels) || pixels <= 0) throw new RangeError(`metrics: image ${i} has size ${widths[i]}x${heights[i]}`);
    if (maps[i]!.length !== pixels) throw new RangeError(`metrics: map ${i} has ${maps[i]!.length} values, expected ${pixels}`);
    const mask = masks[i];
    if (mask && mask.length !== pixels) throw new RangeError(`metrics: mask ${i} has ${mask.length} values, expected ${pixels}`);
  }
}

/** Throws a RangeError unless the FPR limit is in (0, 1]. */
export function validateFprLimit(fprLimit: number): void {
  if (!(fprLimit > 0 && fprLimit <= 1)) throw new RangeError(`metrics: fprLimit must be in (0, 1], got ${fprLimit}`);
}

/** All pixel-level metrics in one sort and one sweep. */
export function pixelMetrics(set: MapSet, options: PixelMetricOptions): PixelMetrics {
  validateMapSet(set);
  validateFprLimit(options.fprLimit);
  const scan = scanMaps(set);
  const gathered = gatherSortedKeys(set, scan);
  const sweep = new ThresholdSweep({
    negatives: gathered.negativeKeys.length,
    positives: gathered.positiveKeys.length,
    regions: gathered.regionWeight.length,
    fprLimit: options.fprLimit,
    decode: keyToFloat32,
    rocPoints: options.curvePoints,
    proPoints: options.curvePoints,
    rocThresholds: false,
  });
  sweepSortedKeys(sweep, gathered.negativeKeys, gathered.positiveKeys, gathered.positiveRegion, gathered.regionWeight);
  const proFull = options.officialPro ? officialFromScan(gathered, scan) : NaN;
  return { sweep: sweep.finish(), proFull, imageMax: scan.imageMax };
}

function officialFromScan(sorted: SortedKeys, scan: MapScan): number {
  if (scan.imageMax.length === 0) return NaN;
  const { negativeKeys, positiveKeys, positiveRegion, regionWeight } = sorted;
  return officialProFromSortedKeys(negativeKeys, positiveKeys, positiveRegion, regionWeight, scan.minKey, scan.maxKey);
}

interface MapScan {
  negativeCounts: Int32Array; // per bucket of the key's top 16 bits
  positiveCounts: Int32Array;
  imageMax: Float64Array;
  minKey: number; // over all pixels; meaningless without images
  maxKey: number;
}

/** First pass: bucket sizes, each map's maximum, the global key range; rejects NaN. */
function scanMaps(set: MapSet): MapScan {
  const negativeCounts = new Int32Array(BUCKET_COUNT);
  const positiveCounts = new Int32Array(BUCKET_COUNT);
  const imageMax = new Float64Array(set.maps.length);
  let minKey = 0xffffffff;
  let maxKey = 0;
  for (let image = 0; image < set.maps.length; image++) {
    const map = set.maps[image]!;
    const bits = new Uint32Array(map.buffer, map.byteOffset, map.length);
    const mask = set.masks[image];
    let imageMaxKey = 0;
    for (let p = 0; p < bits.length; p++) {
      const key = bitsToKey(bits[p]!);
      if (mask && mask[p] !== 0) positiveCounts[key >>> 16]!++;
      else negativeCounts[key >>> 16]!++;
      if (key > imageMaxKey) imageMaxKey = key;
      if (key < minKey) minKey = key;
    }
    imageMax[image] = keyToFloat32(imageMaxKey);
    if (imageMaxKey > maxKey) maxKey = imageMaxKey;
    // NaN keys lie beyond those of the infinities, so the extremes reveal them.
    if (isNanKey(imageMaxKey) || isNanKey(minKey)) throw new RangeError(`metrics: anomaly map ${image} contains NaN`);
  }
  return { negativeCounts, positiveCounts, imageMax, minKey, maxKey };
}

interface SortedKeys {
  negativeKeys: Uint32Array; // ascending
  positiveKeys: Uint32Array; // ascending
  positiveRegion: Uint32Array; // global region index of each positive key
  regionWeight: Float64Array; // 1 / area per global region
}

/** Second pass: labels regions, scatters keys into their buckets, then sorts the buckets. */
function gatherSortedKeys(set: MapSet, scan: MapScan): SortedKeys {
  const negativeStarts = bucketStarts(scan.negativeCounts);
  const positiveStarts = bucketStarts(scan.positiveCounts);
  const negativeKeys = new Uint32Array(negativeStarts[BUCKET_COUNT]!);
  const positiveKeys = new Uint32Array(positiveStarts[BUCKET_COUNT]!);
  const positiveRegion = new Uint32Array(positiveKeys.length);
  // Next free slot per bucket; the starts themselves are kept for sorting.
  const negativeNext = negativeStarts.slice();
  const positiveNext = positiveStarts.slice();
  const regionWeight: number[] = [];

  for (let image = 0; image < set.maps.length; image++) {
    const map = set.maps[image]!;
    const bits = new Uint32Array(map.buffer, map.byteOffset, map.length);
    const mask = set.masks[image];
    const regions = mask ? labelRegions(mask, set.widths[image]!, set.heights[image]!, 8) : null;
    if (!regions || regions.count === 0) {
      for (let p = 0; p < bits.length; p++) {
        const key = bitsToKey(bits[p]!);
        negativeKeys[negativeNext[key >>> 16]!++] = key;
      }
      continue;
    }
    const labels = regions.labels;
    const regionBase = regionWeight.length - 1; // global index of region label 1 is regionBase + 1
    for (const area of regions.areas) regionWeight.push(1 / area);
    for (let p = 0; p < bits.length; p++) {
      const key = bitsToKey(bits[p]!);
      const label = labels[p]!;
      if (label === 0) {
        negativeKeys[negativeNext[key >>> 16]!++] = key;
      } else {
        const slot = positiveNext[key >>> 16]!++;
        positiveKeys[slot] = key;
        positiveRegion[slot] = regionBase + label;
      }
    }
  }

  sortBuckets(negativeKeys, negativeStarts, null);
  sortBuckets(positiveKeys, positiveStarts, positiveRegion);
  return { negativeKeys, positiveKeys, positiveRegion, regionWeight: Float64Array.from(regionWeight) };
}
