/**
 * The image side of the data layer: decode, resize, normalise, masks, PNG and float-TIFF output.
 * Helpers live in sibling files; this module is the entry point the rest of the project uses.
 */
import { pilResampleUint8 } from './resize.js';
import type { DecodedImage } from './decode.js';

export type { DecodedImage } from './decode.js';
export { readImage, decodeImage, interleavedToPlanar, planarToInterleaved } from './decode.js';
export { resizePlane, pilResampleFloat, pilResampleUint8 } from './resize.js';
export { readMask, readMaskOriginal, maskFromImage, type OriginalMask } from './mask.js';
export { encodePng, writePng, type PngImage } from './png.js';
export { writeFloatTiff, readFloatTiff, encodeFloatTiff, decodeFloatTiff, type FloatImage } from './tiff.js';
export { readImageSize } from './image-size.js';

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
  const red = Buffer.from(rgb.buffer, rgb.byteOffset, n);
  return red.equals(Buffer.from(rgb.buffer, rgb.byteOffset + n, n)) && red.equals(Buffer.from(rgb.buffer, rgb.byteOffset + 2 * n, n));
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
