/**
 * An image's format and size from its header, without decoding the pixels: the one header
 * reader for files (data sets, size checks) and uploaded bytes (the server).
 */
import { open } from 'node:fs/promises';
import sharp from 'sharp';
import { PyramidFlowError } from '../util/errors.js';
import { readBmpSize } from './bmp.js';
import { describeFsError } from './decode.js';

export type ImageFormat = 'png' | 'jpeg' | 'bmp' | 'tiff';

export interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
}

/** The format's signature at the start of the bytes, or null for anything else. */
export function sniffFormat(bytes: Uint8Array): ImageFormat | null {
  const b = bytes;
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47 && b[4] === 0x0d && b[5] === 0x0a) return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 2 && b[0] === 0x42 && b[1] === 0x4d) return 'bmp';
  if (
    b.length >= 4 &&
    ((b[0] === 0x49 && b[1] === 0x49 && b[2] === 0x2a && b[3] === 0x00) || (b[0] === 0x4d && b[1] === 0x4d && b[2] === 0x00 && b[3] === 0x2a))
  )
    return 'tiff';
  return null;
}

/**
 * Format and size of an encoded image. Errors name `name`: code E_NOT_IMAGE for another format,
 * E_BAD_IMAGE for a header that cannot be read.
 */
export async function readImageHeader(bytes: Uint8Array, name = 'the image'): Promise<ImageHeader> {
  return headerOf(bytes, name, () => sharp(bytes).metadata());
}

/** The same for a file: reads its first 64 KiB (any BMP header fits); sharp reads its formats' headers from the path. */
export async function readImageHeaderFromFile(path: string): Promise<ImageHeader> {
  let head: Uint8Array;
  try {
    const handle = await open(path, 'r');
    try {
      const buffer = new Uint8Array(65536);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      head = buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw new PyramidFlowError(`${path}: cannot read the image (${describeFsError(err)})`, 'E_BAD_IMAGE');
  }
  if (head.length === 0) throw new PyramidFlowError(`${path}: the image file is empty`, 'E_BAD_IMAGE');
  return headerOf(head, path, () => sharp(path).metadata());
}

async function headerOf(head: Uint8Array, name: string, metadata: () => Promise<{ width?: number; height?: number }>): Promise<ImageHeader> {
  const format = sniffFormat(head);
  if (!format) throw new PyramidFlowError(`${name} is not a PNG, JPEG, BMP or TIFF image`, 'E_NOT_IMAGE');
  let size: { width: number; height: number };
  if (format === 'bmp') {
    // libvips has no BMP reader: our BMP parser reads the header.
    try {
      size = readBmpSize(head, name);
    } catch (err) {
      throw new PyramidFlowError((err as Error).message, 'E_BAD_IMAGE');
    }
  } else {
    try {
      const meta = await metadata();
      size = { width: meta.width ?? 0, height: meta.height ?? 0 };
    } catch (err) {
      const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
      throw new PyramidFlowError(`${name}: cannot read the ${format.toUpperCase()} header (${reason})`, 'E_BAD_IMAGE');
    }
  }
  if (!(size.width > 0 && size.height > 0)) throw new PyramidFlowError(`${name}: the ${format.toUpperCase()} header gives no size`, 'E_BAD_IMAGE');
  return { format, ...size };
}
