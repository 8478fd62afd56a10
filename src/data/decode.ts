/**
 * Image decoding to planar 8-bit RGB. sharp (libvips) reads PNG, JPEG and TIFF; BMP goes through
 * our own decoder because sharp's prebuilt binaries have no BMP loader.
 */
import { readFile } from 'node:fs/promises';
import sharp, { type OutputInfo } from 'sharp';
import { PyramidFlowError } from '../util/errors.js';
import { decodeBmp, isBmp } from './bmp.js';

export interface DecodedImage {
  width: number;
  height: number;
  /** Planar 3 x H x W: the R plane, then G, then B. */
  rgb: Uint8Array;
}

/** The container formats we accept; sharp can read more (WebP, GIF, SVG...) but we stay explicit. */
const SHARP_FORMATS = new Set(['png', 'jpeg', 'tiff']);

export async function readImage(path: string): Promise<DecodedImage> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new PyramidFlowError(`Cannot read image "${path}": ${describeFsError(err)}.`);
  }
  return decodeImage(bytes, path);
}

export async function decodeImage(bytes: Uint8Array, name: string): Promise<DecodedImage> {
  if (bytes.length === 0) throw new PyramidFlowError(`Cannot read image "${name}": the file is empty.`);
  if (isBmp(bytes)) {
    const { width, height, data } = decodeBmp(bytes, name);
    return interleavedToPlanar(data, width, height, 3);
  }
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    // 'error' still rejects truncated files but accepts benign warnings (e.g. stray bytes
    // after a JPEG marker) that PIL reads too. EXIF orientation is not applied, as in PIL.
    const image = sharp(bytes, { failOn: 'error' });
    const meta = await image.metadata();
    if (!meta.format || !SHARP_FORMATS.has(meta.format)) {
      throw new PyramidFlowError(
        `Cannot read image "${name}": format "${meta.format ?? 'unknown'}" is not supported (use PNG, JPEG, BMP or TIFF).`,
      );
    }
    // sharp's raw output is 8-bit: 16-bit inputs are scaled (not clipped) to 0..255.
    decoded = await image.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (err) {
    if (err instanceof PyramidFlowError) throw err;
    throw new PyramidFlowError(`Cannot read image "${name}": ${describeSharpError(err)}.`);
  }
  const { width, height, channels } = decoded.info;
  if (width <= 0 || height <= 0) throw new PyramidFlowError(`Cannot read image "${name}": it has no pixels.`);
  return interleavedToPlanar(decoded.data, width, height, channels);
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

function describeSharpError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (/unsupported image format/i.test(message)) return 'not a supported image format (use PNG, JPEG, BMP or TIFF)';
  if (/empty/i.test(message)) return 'the file is empty';
  if (/premature end|truncated|read error|not enough data|unexpected end/i.test(message)) {
    return `the file is truncated or corrupt (${firstLine(message)})`;
  }
  return `the file is corrupt or unreadable (${firstLine(message)})`;
}

export function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'it is a folder, not a file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return err instanceof Error ? firstLine(err.message) : String(err);
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.trim();
}
