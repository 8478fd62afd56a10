/**
 * Ground-truth masks, read as the official code does: grey (PIL 'L') / 255 as float32 ->
 * Pillow bilinear resize in float -> round (half to even, like torch.round) -> {0, 1}.
 */
import type { DecodedImage } from './decode.js';
import { readImage } from './decode.js';
import { pilResampleFloat } from './resize.js';

export interface OriginalMask {
  width: number;
  height: number;
  /** H*W values in {0, 1}. */
  mask: Uint8Array;
}

export async function readMask(path: string, height: number, width: number): Promise<Uint8Array> {
  return maskFromImage(await readImage(path), height, width);
}

export async function readMaskOriginal(path: string): Promise<OriginalMask> {
  const img = await readImage(path);
  return { width: img.width, height: img.height, mask: maskFromImage(img, img.height, img.width) };
}

/** Mask at height x width from an already decoded image (the server receives bytes). */
export function maskFromImage(img: DecodedImage, height: number, width: number): Uint8Array {
  const grey = greyFraction(img);
  const resized = img.width === width && img.height === height ? grey : pilResampleFloat(grey, img.height, img.width, height, width);
  const mask = new Uint8Array(height * width);
  for (let i = 0; i < mask.length; i++) mask[i] = roundHalfToEven(resized[i]!) >= 1 ? 1 : 0;
  return mask;
}

/** PIL's RGB -> L conversion (ITU-R 601-2 luma, 16-bit fixed point), then /255 in float32. */
function greyFraction(img: DecodedImage): Float32Array {
  const n = img.width * img.height;
  const out = new Float32Array(n);
  const { rgb } = img;
  for (let i = 0; i < n; i++) {
    const luma = (rgb[i]! * 19595 + rgb[n + i]! * 38470 + rgb[2 * n + i]! * 7471 + 0x8000) >> 16;
    out[i] = Math.fround(luma / 255);
  }
  return out;
}

function roundHalfToEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 ? 2 * Math.round(x / 2) : r;
}
