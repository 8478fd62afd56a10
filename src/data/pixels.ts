/**
 * Pixels in memory, with no file, decoder or Node dependency (a browser build uses this module
 * as it is): the decoded-image type, channel layouts, the exact resize of the official code and
 * the normalisation of the network's input.
 */
import { pilResampleUint8 } from './resize.js';

export interface DecodedImage {
  width: number;
  height: number;
  /** Planar 3 x H x W: the R plane, then G, then B. */
  rgb: Uint8Array;
}

/** Interleaved 8-bit pixels, rows top to bottom: what encoders take (1 grey, 3 RGB, 4 RGBA). */
export interface RasterImage {
  width: number;
  height: number;
  channels: 1 | 3 | 4;
  data: Uint8Array;
}

/**
 * Interleaved 1..4 channels -> planar RGB. Grey is replicated; alpha is dropped without
 * compositing, like PIL's convert('RGB') in the official code.
 */
export function interleavedToPlanar(data: Uint8Array, width: number, height: number, channels: number): DecodedImage {
  const n = width * height;
  const rgb = new Uint8Array(3 * n);
  if (channels <= 2) {
    for (let i = 0; i < n; i++) {
      const v = data[i * channels]!;
      rgb[i] = v;
      rgb[n + i] = v;
      rgb[2 * n + i] = v;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const at = i * channels;
      rgb[i] = data[at]!;
      rgb[n + i] = data[at + 1]!;
      rgb[2 * n + i] = data[at + 2]!;
    }
  }
  return { width, height, rgb };
}

/** Planar RGB -> interleaved RGB (for PNG writing and previews). */
export function planarToInterleaved(img: DecodedImage): Uint8Array {
  const n = img.width * img.height;
  const out = new Uint8Array(3 * n);
  for (let i = 0; i < n; i++) {
    out[i * 3] = img.rgb[i]!;
    out[i * 3 + 1] = img.rgb[n + i]!;
    out[i * 3 + 2] = img.rgb[2 * n + i]!;
  }
  return out;
}

export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/**
 * Bilinear resize to height x width, as the official code does it (torchvision Resize on a PIL
 * image = Pillow BILINEAR: antialiased when shrinking), bit-exact with Pillow, uint8 out.
 * Unlike torchvision's Resize(int), the target is an exact size: the aspect ratio is not kept.
 */
export function resizeImage(img: DecodedImage, height: number, width: number): DecodedImage {
  if (img.width === width && img.height === height) return { width, height, rgb: img.rgb.slice() };
  const n = img.width * img.height;
  const { rgb } = img;
  if (isGrey(rgb, n)) {
    // Grey images (common in inspection) resize one plane, not three: same result, 3x faster.
    const plane = pilResampleUint8(rgb.subarray(0, n), 1, img.height, img.width, height, width);
    const out = new Uint8Array(3 * plane.length);
    out.set(plane, 0);
    out.set(plane, plane.length);
    out.set(plane, 2 * plane.length);
    return { width, height, rgb: out };
  }
  return { width, height, rgb: pilResampleUint8(rgb, 3, img.height, img.width, height, width) };
}

function isGrey(rgb: Uint8Array, n: number): boolean {
  for (let i = 0; i < n; i++) if (rgb[i] !== rgb[n + i] || rgb[i] !== rgb[2 * n + i]) return false;
  return true;
}

/**
 * 3 x H x W float32: /255 then ImageNet mean/std, in float32 steps like torchvision's
 * ToTensor + Normalize, via a 256-entry table per channel.
 */
export function normalizeImage(img: DecodedImage): Float32Array {
  const n = img.width * img.height;
  const out = new Float32Array(3 * n);
  for (let c = 0; c < 3; c++) {
    const table = normalizationTable(c);
    const offset = c * n;
    for (let i = 0; i < n; i++) out[offset + i] = table[img.rgb[offset + i]!]!;
  }
  return out;
}

const tables: Float32Array[] = [];

function normalizationTable(channel: number): Float32Array {
  let table = tables[channel];
  if (!table) {
    table = new Float32Array(256);
    const f = Math.fround;
    const mean = f(IMAGENET_MEAN[channel]!);
    const std = f(IMAGENET_STD[channel]!);
    for (let v = 0; v < 256; v++) table[v] = f(f(f(v / 255) - mean) / std);
    tables[channel] = table;
  }
  return table;
}
