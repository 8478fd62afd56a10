/**
 * Images in a browser, to the planar RGB the Node path (src/data/decode.ts, sharp) gives for the
 * same bytes: PNG and JPEG by the browser's own decoders (createImageBitmap), BMP by our decoder
 * (src/data/bmp.ts, the one Node uses), TIFF refused (Chromium cannot decode it).
 *
 * What sharp does, and how it is matched (test/browser/decode.test.ts compares them):
 * - no colour management for untagged images: `colorSpaceConversion: 'none'` (gAMA ignored too);
 * - an embedded ICC profile is converted to sRGB (sharp's pipeline does that by default): those
 *   images are decoded with `colorSpaceConversion: 'default'`, which converts to sRGB as well
 *   (Skia's skcms, not lcms: values within 1 of sharp's);
 * - EXIF orientation not applied (orientation.ts);
 * - 16-bit samples scaled to 8 bits, alpha dropped without compositing: `premultiplyAlpha: 'none'`,
 *   and the pixels read back through a WebGL texture, which keeps them unpremultiplied (a 2D
 *   canvas stores premultiplied colour, which changes translucent pixels; it is the fallback
 *   where there is no WebGL, exact for opaque images).
 * Works on the page and in workers (OffscreenCanvas). No Node, no sharp, no file system.
 */
import { PyramidFlowError } from '../util/errors.js';
import { decodeBmp, readBmpSize } from '../data/bmp.js';
import { interleavedToPlanar, type DecodedImage } from '../data/pixels.js';
import { readRgbaUnpremultiplied } from './readback.js';
import { withoutOrientation } from './orientation.js';

/** The formats this entry reads, and TIFF, which it refuses by name. */
export type SniffedFormat = 'png' | 'jpeg' | 'bmp' | 'tiff';

/** The most pixels an image may have (Node's default --max-pixels): a small file can claim a huge size. */
export const BROWSER_MAX_PIXELS = 40_000_000;

/** An image decoded in the browser: planar RGB and its container format. */
export interface BrowserDecoded extends DecodedImage {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** Planar 3 x H x W: the R plane, then G, then B. */
  rgb: Uint8Array;
  /** The container format. */
  format: 'png' | 'jpeg' | 'bmp';
}

/** The format's signature at the start of the bytes, or null (as src/data/image-header.ts sniffs, without sharp). */
export function sniffImage(b: Uint8Array): SniffedFormat | null {
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47 && b[4] === 0x0d && b[5] === 0x0a) return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 2 && b[0] === 0x42 && b[1] === 0x4d) return 'bmp';
  const ii = b[0] === 0x49 && b[1] === 0x49 && b[2] === 0x2a && b[3] === 0x00;
  const mm = b[0] === 0x4d && b[1] === 0x4d && b[2] === 0x00 && b[3] === 0x2a;
  if (b.length >= 4 && (ii || mm)) return 'tiff';
  return null;
}

/** PNG: the IHDR size and whether an iCCP chunk (an ICC profile) comes before the image data. */
function pngHeader(b: Uint8Array, name: string): { width: number; height: number; icc: boolean } {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length < 33 || String.fromCharCode(...b.subarray(12, 16)) !== 'IHDR')
    throw new PyramidFlowError(`Cannot read image "${name}": the PNG header is truncated or corrupt.`);
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  let icc = false;
  for (let at = 8; at + 8 <= b.length; ) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(...b.subarray(at + 4, at + 8));
    if (type === 'iCCP') icc = true;
    if (type === 'IDAT' || type === 'IEND') break;
    at += 12 + length;
  }
  return { width, height, icc };
}

/** JPEG: the frame's size (SOFn) and whether an APP2 ICC_PROFILE segment is present. */
function jpegHeader(b: Uint8Array, name: string): { width: number; height: number; icc: boolean } {
  let icc = false;
  for (let at = 2; at + 4 <= b.length; ) {
    if (b[at] !== 0xff) break;
    const marker = b[at + 1]!;
    if (marker === 0xff) {
      at++;
      continue;
    }
    const length = (b[at + 2]! << 8) | b[at + 3]!;
    if (marker === 0xe2 && String.fromCharCode(...b.subarray(at + 4, at + 15)) === 'ICC_PROFILE') icc = true;
    const sof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (sof && at + 9 <= b.length) return { height: (b[at + 5]! << 8) | b[at + 6]!, width: (b[at + 7]! << 8) | b[at + 8]!, icc };
    at += 2 + length;
  }
  throw new PyramidFlowError(`Cannot read image "${name}": the JPEG header is truncated or corrupt (no frame header).`);
}

/** Refuses a size over the limit, in Node's words (src/data/decode.ts checkPixels). */
function checkPixels(name: string, width: number, height: number, maxPixels: number): void {
  if (width * height > maxPixels) {
    const mp = (n: number): string => `${Number((n / 1e6).toPrecision(3))} MP`;
    throw new PyramidFlowError(`${name} is ${width} x ${height} = ${mp(width * height)}, more than the limit of ${mp(maxPixels)}`, 'E_TOO_MANY_PIXELS');
  }
}

/** The bytes of a Blob or byte array. */
export async function bytesOf(data: Blob | Uint8Array): Promise<Uint8Array> {
  return data instanceof Uint8Array ? data : new Uint8Array(await data.arrayBuffer());
}

/**
 * Decodes an encoded image to planar 8-bit RGB at its own size, as the Node path would.
 * Errors (PyramidFlowError) name the image: empty, not an image, TIFF, corrupt, too large.
 */
export async function decodeImageBytes(bytes: Uint8Array, name: string, maxPixels = BROWSER_MAX_PIXELS): Promise<BrowserDecoded> {
  if (bytes.length === 0) throw new PyramidFlowError(`Cannot read image "${name}": the file is empty.`);
  const format = sniffImage(bytes);
  if (format === 'tiff') {
    throw new PyramidFlowError(
      `Cannot read image "${name}": TIFF cannot be decoded in a browser (Chromium has no TIFF decoder); convert it to PNG.`,
      'E_NOT_IMAGE',
    );
  }
  if (!format) throw new PyramidFlowError(`Cannot read image "${name}": not a supported image format (use PNG, JPEG or BMP).`, 'E_NOT_IMAGE');
  if (format === 'bmp') {
    const size = readBmpSize(bytes, name);
    checkPixels(name, size.width, size.height, maxPixels);
    const { width, height, data } = decodeBmp(bytes, name);
    return { ...interleavedToPlanar(data, width, height, 3), format };
  }
  const header = format === 'png' ? pngHeader(bytes, name) : jpegHeader(bytes, name);
  if (!(header.width > 0 && header.height > 0)) throw new PyramidFlowError(`Cannot read image "${name}": it has no pixels.`);
  checkPixels(name, header.width, header.height, maxPixels);
  let bitmap: ImageBitmap;
  try {
    // EXIF orientation is not applied on Node (as in PIL), and Chromium applies it whatever
    // imageOrientation says: the browser decodes a copy whose orientation is 1 (orientation.ts).
    const upright = withoutOrientation(bytes, format) as Uint8Array<ArrayBuffer>;
    bitmap = await createImageBitmap(new Blob([upright], { type: `image/${format}` }), {
      colorSpaceConversion: header.icc ? 'default' : 'none',
      premultiplyAlpha: 'none',
    });
  } catch (e) {
    throw new PyramidFlowError(
      `Cannot read image "${name}": the file is truncated or corrupt (the browser's ${format.toUpperCase()} decoder: ${(e as Error).message.split('\n')[0]}).`,
    );
  }
  try {
    const { width, height } = bitmap;
    return { ...interleavedToPlanar(await readRgbaUnpremultiplied(bitmap), width, height, 4), format };
  } finally {
    bitmap.close();
  }
}
