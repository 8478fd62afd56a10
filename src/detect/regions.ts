/** The defect mask of a map and its regions: connected components (8-connected). */
import type { DefectRegion } from './types.js';
import { labelRegions } from '../metrics/index.js';

/**
 * {0,1} mask of the defect pixels: the one rule for every mask, outline and region. A pixel is
 * a defect when its score is above the threshold (`>`), as an image is when its score is above
 * the image threshold, and as calibration counts false positives (values > t).
 */
export function pixelMask(map: Float32Array, threshold: number): Uint8Array {
  const mask = new Uint8Array(map.length);
  for (let i = 0; i < map.length; i++) mask[i] = map[i]! > threshold ? 1 : 0;
  return mask;
}

/** The regions of pixelMask(map, pixelThreshold) of at least minArea pixels, highest peak first. */
export function findRegions(map: Float32Array, width: number, height: number, pixelThreshold: number, minArea = 1): DefectRegion[] {
  const mask = pixelMask(map, pixelThreshold);
  const { labels, count } = labelRegions(mask, width, height, 8);
  const regions = Array.from({ length: count }, () => ({ area: 0, x0: Infinity, y0: Infinity, x1: -1, y1: -1, peak: -Infinity }));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const l = labels[y * width + x]!;
      if (l <= 0) continue;
      const r = regions[l - 1]!;
      r.area++;
      r.x0 = Math.min(r.x0, x);
      r.y0 = Math.min(r.y0, y);
      r.x1 = Math.max(r.x1, x);
      r.y1 = Math.max(r.y1, y);
      r.peak = Math.max(r.peak, map[y * width + x]!);
    }
  }
  return regions
    .filter((r) => r.area >= minArea)
    .map((r) => ({ area: r.area, x: r.x0, y: r.y0, width: r.x1 - r.x0 + 1, height: r.y1 - r.y0 + 1, peak: r.peak }))
    .sort((a, b) => b.peak - a.peak);
}
