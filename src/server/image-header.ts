/**
 * Cheap checks on an uploaded image before it waits for a prediction slot: is it one of the
 * formats the model reads, and how many pixels does its header claim (decoding stays with the
 * detector; a body that is cut short is caught there).
 */
import sharp from 'sharp';
import { readBmpSize } from '../data/bmp.js';
import { HttpError } from './errors.js';

export type ImageFormat = 'png' | 'jpeg' | 'bmp' | 'tiff';

export interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
}

export function sniffFormat(bytes: Uint8Array): ImageFormat | null {
  const b = bytes;
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47 && b[4] === 0x0d && b[5] === 0x0a) return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 2 && b[0] === 0x42 && b[1] === 0x4d) return 'bmp';
  if (b.length >= 4 && ((b[0] === 0x49 && b[1] === 0x49 && b[2] === 0x2a && b[3] === 0x00) || (b[0] === 0x4d && b[1] === 0x4d && b[2] === 0x00 && b[3] === 0x2a))) return 'tiff';
  return null;
}

/** Reads the format and size from the header; 415 for other formats, 400 for unreadable headers. */
export async function readImageHeader(bytes: Uint8Array, name = 'the image'): Promise<ImageHeader> {
  const format = sniffFormat(bytes);
  if (!format) {
    throw new HttpError(415, 'E_NOT_IMAGE', `${name} is not a PNG, JPEG, BMP or TIFF image`);
  }
  let size: { width: number; height: number };
  if (format === 'bmp') {
    // libvips has no BMP reader; the data layer's BMP parser reads the header.
    try {
      size = readBmpSize(bytes, name);
    } catch (err) {
      throw new HttpError(400, 'E_BAD_IMAGE', (err as Error).message);
    }
  } else {
    try {
      const meta = await sharp(bytes).metadata();
      size = { width: meta.width ?? 0, height: meta.height ?? 0 };
    } catch (err) {
      throw new HttpError(400, 'E_BAD_IMAGE', `${name}: cannot read the ${format.toUpperCase()} header (${(err as Error).message})`);
    }
  }
  if (!(size.width > 0 && size.height > 0)) {
    throw new HttpError(400, 'E_BAD_IMAGE', `${name}: the ${format.toUpperCase()} header gives no size`);
  }
  return { format, ...size };
}
