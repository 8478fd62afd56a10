/**
 * The pictures of one result, drawn from its anomaly map in the page: the heat map (the model's
 * fixed colour scale, the colour map of `pyramidflow predict`'s pictures) and the outline of the
 * defect regions at any pixel threshold. The threshold slider calls these again with a new
 * threshold: the map is never recomputed.
 */
import { heatmapRgb } from '../src/browser/index.js';

/** The defect regions of a map at one pixel threshold: what the outline shows. */
export interface RegionMask {
  /** 1 for a pixel of a region kept (at least minArea pixels), else 0; row-major. */
  mask: Uint8Array;
  /** Regions kept. */
  count: number;
}

/** The outline's colour (src/detect/pictures.ts's OUTLINE_COLOUR). */
export const OUTLINE_RGB: readonly [number, number, number] = [255, 40, 40];

/**
 * The map coloured as `pyramidflow predict` colours it (the entry's heatmapRgb: inferno on the
 * model's fixed scale scaleMin..scaleMax) as RGBA, the alpha rising with the value so that low
 * scores leave the image visible.
 */
export function heatmapImage(map: Float32Array, width: number, height: number, scaleMin: number, scaleMax: number): ImageData {
  const rgb = heatmapRgb(map, scaleMin, scaleMax);
  const image = new ImageData(width, height);
  const span = scaleMax - scaleMin;
  for (let i = 0; i < map.length; i++) {
    const v = map[i]!;
    const t = Number.isNaN(v) ? 0 : span > 0 ? Math.min(1, Math.max(0, (v - scaleMin) / span)) : v >= scaleMax ? 1 : 0;
    image.data[i * 4] = rgb[i * 3]!;
    image.data[i * 4 + 1] = rgb[i * 3 + 1]!;
    image.data[i * 4 + 2] = rgb[i * 3 + 2]!;
    image.data[i * 4 + 3] = Math.round(40 + 170 * t);
  }
  return image;
}

/**
 * The pixels above `threshold` (`>`, the rule of every mask in pyramidflow), in 8-connected regions
 * of at least `minArea` pixels (smaller ones dropped, as `predict` drops them).
 */
export function regionMask(map: Float32Array, width: number, height: number, threshold: number, minArea: number): RegionMask {
  const above = new Uint8Array(map.length);
  for (let i = 0; i < map.length; i++) above[i] = map[i]! > threshold ? 1 : 0;
  const mask = new Uint8Array(map.length);
  const seen = new Uint8Array(map.length);
  const stack = new Int32Array(map.length);
  const members: number[] = [];
  let count = 0;
  for (let start = 0; start < map.length; start++) {
    if (!above[start] || seen[start]) continue;
    members.length = 0;
    let top = 0;
    stack[top++] = start;
    seen[start] = 1;
    while (top > 0) {
      const p = stack[--top]!;
      members.push(p);
      const x = p % width;
      const y = (p - x) / width;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx < 0 || nx >= width) continue;
          const q = ny * width + nx;
          if (above[q] && !seen[q]) {
            seen[q] = 1;
            stack[top++] = q;
          }
        }
      }
    }
    if (members.length < minArea) continue;
    count++;
    for (const p of members) mask[p] = 1;
  }
  return { mask, count };
}

/** The outline of a mask: its pixels with a 4-neighbour outside it (or on the image's edge), opaque red, thickened by one pixel. */
export function outlineImage(mask: Uint8Array, width: number, height: number): ImageData {
  const image = new ImageData(width, height);
  const edge = (x: number, y: number): boolean => {
    const i = y * width + x;
    if (!mask[i]) return false;
    return x === 0 || y === 0 || x === width - 1 || y === height - 1 || !mask[i - 1] || !mask[i + 1] || !mask[i - width] || !mask[i + width];
  };
  const thick = Math.max(1, Math.round(Math.max(width, height) / 256));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!edge(x, y)) continue;
      for (let dy = 0; dy < thick; dy++) {
        for (let dx = 0; dx < thick; dx++) {
          const px = Math.min(width - 1, x + dx);
          const py = Math.min(height - 1, y + dy);
          const o = (py * width + px) * 4;
          image.data[o] = OUTLINE_RGB[0];
          image.data[o + 1] = OUTLINE_RGB[1];
          image.data[o + 2] = OUTLINE_RGB[2];
          image.data[o + 3] = 255;
        }
      }
    }
  }
  return image;
}

/**
 * The pixel threshold that goes with an image threshold chosen on the slider: the model's pixel
 * threshold scaled as the image threshold was (both move together: a stricter verdict, tighter outlines).
 */
export function pixelThresholdFor(imageThreshold: number, model: { image: number; pixel: number }): number {
  if (model.image > 0) return model.pixel * (imageThreshold / model.image);
  return model.pixel + (imageThreshold - model.image);
}
