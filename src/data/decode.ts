/**
 * Image decoding to planar 8-bit RGB. sharp (libvips) reads PNG, JPEG and TIFF; BMP goes through
 * our own decoder because sharp's prebuilt binaries have no BMP loader.
 */
import { readFile } from 'node:fs/promises';
import sharp, { type OutputInfo } from 'sharp';
import { PyramidFlowError } from '../util/errors.js';
import { decodeBmp, isBmp, readBmpSize } from './bmp.js';
import { interleavedToPlanar, type DecodedImage } from './pixels.js';

export type { DecodedImage } from './pixels.js';

/** The container formats we accept; sharp can read more (WebP, GIF, SVG...) but we stay explicit. */
const SHARP_FORMATS = new Set(['png', 'jpeg', 'tiff']);

/**
 * The most pixels an image may have unless the caller says otherwise (as the server always
 * did): a small file can claim a huge size (a 249 KB PNG of 16000 x 16000 decodes to 768 MB).
 */
export const DEFAULT_MAX_PIXELS = 40_000_000;

export interface DecodeOptions {
  /** Refuse images with more pixels than this, from the header, before decoding (default 40 MP). */
  maxPixels?: number;
}

/** Refuses a size over the limit, in words with the image's size. */
export function checkPixels(name: string, width: number, height: number, maxPixels = DEFAULT_MAX_PIXELS): void {
  if (width * height > maxPixels) {
    const mp = (n: number): string => `${Number((n / 1e6).toPrecision(3))} MP`;
    throw new PyramidFlowError(
      `${name} is ${width} x ${height} = ${mp(width * height)}, more than the limit of ${mp(maxPixels)} (--max-pixels)`,
      'E_TOO_MANY_PIXELS',
    );
  }
}

export async function readImage(path: string, opts: DecodeOptions = {}): Promise<DecodedImage> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new PyramidFlowError(`Cannot read image "${path}": ${describeFsError(err)}.`);
  }
  return decodeImage(bytes, path, opts);
}

export async function decodeImage(bytes: Uint8Array, name: string, opts: DecodeOptions = {}): Promise<DecodedImage> {
  if (bytes.length === 0) throw new PyramidFlowError(`Cannot read image "${name}": the file is empty.`);
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (isBmp(bytes)) {
    const size = readBmpSize(bytes, name);
    checkPixels(name, size.width, size.height, maxPixels);
    const { width, height, data } = decodeBmp(bytes, name);
    return interleavedToPlanar(data, width, height, 3);
  }
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    // 'error' still rejects truncated files but accepts benign warnings (e.g. stray bytes
    // after a JPEG marker) that PIL reads too. EXIF orientation is not applied, as in PIL.
    // limitInputPixels backs up the header check (sharp's own default lets 16000 x 16000 through).
    const meta = await sharp(bytes).metadata();
    if (!meta.format || !SHARP_FORMATS.has(meta.format)) {
      throw new PyramidFlowError(`Cannot read image "${name}": format "${meta.format ?? 'unknown'}" is not supported (use PNG, JPEG, BMP or TIFF).`);
    }
    checkPixels(name, meta.width ?? 0, meta.height ?? 0, maxPixels);
    const image = sharp(bytes, { failOn: 'error', limitInputPixels: Math.max(1, Math.floor(maxPixels)) });
    // sharp's raw output is 8-bit: 16-bit inputs are scaled (not clipped) to 0..255.
    decoded = await image.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (err) {
    if (err instanceof PyramidFlowError) throw err;
    throw new PyramidFlowError(`Cannot read image "${name}": ${describeSharpError(err, missingEnd(bytes))}.`);
  }
  const { width, height, channels } = decoded.info;
  if (width <= 0 || height <= 0) throw new PyramidFlowError(`Cannot read image "${name}": it has no pixels.`);
  return interleavedToPlanar(decoded.data, width, height, channels);
}

/**
 * What a PNG or JPEG file lacks near its last bytes: its end (an IEND chunk, an EOI marker), so
 * it is truncated whatever the decoder says; undefined when it has it (or is another format).
 * The reason is ours, not libvips' error text, which can be lost when several images are decoded
 * at once, as predict and serve do ('Unknown error'): the same file gets the same words.
 */
function missingEnd(bytes: Uint8Array): string | undefined {
  const tail = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).subarray(Math.max(0, bytes.length - 4096));
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return tail.includes('IEND') ? undefined : 'no IEND chunk at its end';
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return tail.includes(Buffer.from([0xff, 0xd9])) ? undefined : 'no end-of-image marker';
  return undefined;
}

function describeSharpError(err: unknown, missing: string | undefined): string {
  const message = err instanceof Error ? err.message : String(err);
  if (/unsupported image format/i.test(message)) return 'not a supported image format (use PNG, JPEG, BMP or TIFF)';
  if (/empty/i.test(message)) return 'the file is empty';
  if (missing) return `the file is truncated or corrupt (${missing})`;
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
