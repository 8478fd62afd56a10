/**
 * Pure picture helpers on typed arrays (RGB interleaved, 8-bit; maps as float32; masks as {0,1}),
 * shared by the report and usable by any layer that draws heat maps or outlines.
 * Nothing here touches files or encoders.
 */

export type Rgb = readonly [number, number, number];

/** Colour of the outlines of predicted defect regions, in every picture that draws them. */
export const OUTLINE_COLOUR: Rgb = [255, 40, 40];

/**
 * Matplotlib's "inferno" sampled at 11 evenly spaced points: perceptually uniform and monotone
 * in lightness, so a brighter pixel always means a higher anomaly score (also in grey print).
 */
const INFERNO_STOPS: readonly Rgb[] = [
  [0x00, 0x00, 0x04],
  [0x16, 0x0b, 0x39],
  [0x42, 0x0a, 0x68],
  [0x6a, 0x17, 0x6e],
  [0x93, 0x26, 0x67],
  [0xbc, 0x37, 0x54],
  [0xdd, 0x51, 0x3a],
  [0xf3, 0x78, 0x19],
  [0xfc, 0xa5, 0x0a],
  [0xf6, 0xd7, 0x46],
  [0xfc, 0xff, 0xa4],
];

/** Colour stops of the heat-map colour map, low to high (for legends and gradients). */
export function colourMapStops(): readonly Rgb[] {
  return INFERNO_STOPS;
}

function buildLookupTable(stops: readonly Rgb[], entries: number): Uint8Array {
  const table = new Uint8Array(entries * 3);
  for (let i = 0; i < entries; i++) {
    const position = (i / (entries - 1)) * (stops.length - 1);
    const lower = Math.min(Math.floor(position), stops.length - 2);
    const fraction = position - lower;
    for (let c = 0; c < 3; c++) {
      const value = stops[lower][c] + (stops[lower + 1][c] - stops[lower][c]) * fraction;
      table[i * 3 + c] = Math.round(value);
    }
  }
  return table;
}

/** 256 RGB entries, interleaved: entry i is at [3i, 3i+1, 3i+2]. */
export const COLOUR_MAP_LUT: Uint8Array = buildLookupTable(INFERNO_STOPS, 256);

/** Position of a value on the fixed scale, clamped to 0..1 (NaN counts as the bottom). */
export function scalePosition(value: number, scaleMin: number, scaleMax: number): number {
  if (Number.isNaN(value)) return 0;
  if (!(scaleMax > scaleMin)) return value >= scaleMax ? 1 : 0;
  const t = (value - scaleMin) / (scaleMax - scaleMin);
  return t <= 0 ? 0 : Math.min(t, 1);
}

/** Colours a map on the fixed scale scaleMin..scaleMax; returns RGB interleaved. */
export function heatmapRgb(map: Float32Array, scaleMin: number, scaleMax: number): Uint8Array {
  const rgb = new Uint8Array(map.length * 3);
  for (let i = 0; i < map.length; i++) {
    const entry = Math.round(scalePosition(map[i], scaleMin, scaleMax) * 255) * 3;
    rgb[i * 3] = COLOUR_MAP_LUT[entry];
    rgb[i * 3 + 1] = COLOUR_MAP_LUT[entry + 1];
    rgb[i * 3 + 2] = COLOUR_MAP_LUT[entry + 2];
  }
  return rgb;
}

/**
 * Mixes `over` onto `base`: out = base * (1 - a) + over * a. `alpha` is one weight for all
 * pixels or one per pixel (e.g. the scale position, so low scores leave the image visible).
 */
export function blendRgb(base: Uint8Array, over: Uint8Array, alpha: number | Float32Array): Uint8Array {
  if (base.length !== over.length) throw new Error(`blendRgb: sizes differ (${base.length} vs ${over.length})`);
  const out = new Uint8Array(base.length);
  for (let i = 0; i < base.length; i++) {
    const a = typeof alpha === 'number' ? alpha : alpha[(i / 3) | 0];
    out[i] = Math.round(base[i] * (1 - a) + over[i] * a);
  }
  return out;
}

/** Heat map laid over the image, weighted by each pixel's scale position times `strength`. */
export function overlayRgb(base: Uint8Array, map: Float32Array, scaleMin: number, scaleMax: number, strength = 0.75): Uint8Array {
  const weights = new Float32Array(map.length);
  for (let i = 0; i < map.length; i++) weights[i] = strength * Math.sqrt(scalePosition(map[i], scaleMin, scaleMax));
  return blendRgb(base, heatmapRgb(map, scaleMin, scaleMax), weights);
}

/**
 * Boundary pixels of a mask: set pixels with a 4-neighbour that is unset or outside the image,
 * so a region touching the border is still closed by its outline.
 */
export function outlineOfMask(mask: Uint8Array, width: number, height: number): Uint8Array {
  const outline = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (!mask[i]) continue;
      const onEdge = x === 0 || y === 0 || x === width - 1 || y === height - 1;
      if (onEdge || !mask[i - 1] || !mask[i + 1] || !mask[i - width] || !mask[i + width]) outline[i] = 1;
    }
  }
  return outline;
}

/** A copy of `rgb` with the set pixels of `mask` painted in `colour`. */
export function paintMask(rgb: Uint8Array, mask: Uint8Array, colour: Rgb): Uint8Array {
  const out = Uint8Array.from(rgb);
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    out[i * 3] = colour[0];
    out[i * 3 + 1] = colour[1];
    out[i * 3 + 2] = colour[2];
  }
  return out;
}

/** A {0,1} mask as a white-on-black RGB picture. */
export function maskToRgb(mask: Uint8Array): Uint8Array {
  const out = new Uint8Array(mask.length * 3);
  for (let i = 0; i < mask.length; i++) out.fill(mask[i] ? 255 : 0, i * 3, i * 3 + 3);
  return out;
}

/** Grey RGB picture of the given size (stands in for a missing input image). */
export function greyRgb(width: number, height: number, level = 128): Uint8Array {
  return new Uint8Array(width * height * 3).fill(level);
}

/** Size after shrinking by an integer factor (partial blocks at the edges count as pixels). */
export function shrunkSize(width: number, height: number, factor: number): { width: number; height: number } {
  return { width: Math.ceil(width / factor), height: Math.ceil(height / factor) };
}

/** Smallest integer factor that brings the longer side to at most `maxSide`. */
export function shrinkFactor(width: number, height: number, maxSide: number): number {
  return Math.max(1, Math.ceil(Math.max(width, height) / maxSide));
}

/**
 * Shrinks planar or interleaved data by an integer factor, block by block, reducing each block
 * with `reduce` ('mean' for photos; 'max' for maps and masks, so small defects survive).
 */
export function shrink<T extends Uint8Array | Float32Array>(
  data: T,
  width: number,
  height: number,
  channels: number,
  factor: number,
  reduce: 'mean' | 'max',
): T {
  if (factor <= 1) return data;
  const size = shrunkSize(width, height, factor);
  const out = new (data.constructor as new (n: number) => T)(size.width * size.height * channels);
  for (let oy = 0; oy < size.height; oy++) {
    for (let ox = 0; ox < size.width; ox++) {
      for (let c = 0; c < channels; c++) {
        let sum = 0;
        let max = -Infinity;
        let count = 0;
        for (let y = oy * factor; y < Math.min(height, (oy + 1) * factor); y++) {
          for (let x = ox * factor; x < Math.min(width, (ox + 1) * factor); x++) {
            const value = data[(y * width + x) * channels + c];
            sum += value;
            if (value > max) max = value;
            count++;
          }
        }
        const reduced = reduce === 'max' ? max : sum / count;
        out[(oy * size.width + ox) * channels + c] = data instanceof Uint8Array ? Math.round(reduced) : reduced;
      }
    }
  }
  return out;
}
