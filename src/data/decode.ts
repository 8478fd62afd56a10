/**
 * Image decoding to planar 8-bit RGB. sharp (libvips) reads PNG, JPEG and TIFF; BMP goes through
 * our own decoder because sharp's prebuilt binaries have no BMP loader.
 */
import { readFile } from 'node:fs/promises';
import sharp, { type OutputInfo } from 'sharp';
import { PyramidFlowError } from '../util/errors.js';
import { decodeBmp, isBmp } from './bmp.js';
import { interleavedToPlanar, type DecodedImage } from './pixels.js';

export type { DecodedImage } from './pixels.js';

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
