/**
 * A small BMP decoder. sharp's prebuilt libvips has no BMP loader, so BMP files (BTAD masks, many
 * industrial cameras) are decoded here: no npm BMP decoder passes test/data/bmp.test.ts.
 * Checked (with the test's cases and with files written by ImageMagick 6.9):
 * - fast-bmp 4.0.1 (image-js): only 1/8/24/32-bit; returns palette indices, not colours, for 1/8-bit;
 *   reads the height as unsigned (top-down files throw a RangeError); no 4/16-bit, no RLE; only the
 *   default 32-bit masks; 32-bit BI_RGB throws a RangeError.
 * - @cwasm/nsbmp 0.1.3 and bmpimagejs 1.0.4 (both libnsbmp 0.1.5; built 2022 and 2017): reject
 *   RLE8 that ends with end-of-line then end-of-bitmap, which is how ImageMagick writes every RLE8
 *   file; 16-bit fields are shifted, not scaled (31 -> 248, not 255); errors say only "failed".
 * - bmp-ts 1.0.9, @wokwi/bmp-ts 3.0.0 (and @jimp/js-bmp, built on bmp-ts): palette byte order
 *   wrong, pixel-data offset ignored, RLE8 decodes to black; @wokwi also fails on top-down files.
 * - bmp-js 0.1.0, @vingle/bmp-js 0.2.5: ignore the pixel-data offset, RLE8 wrong, 16-bit shifted;
 *   bmp-js also throws on BI_BITFIELDS.
 * - decode-bmp 0.2.1: ignores the pixel-data offset; no 16-bit, bit-field masks, RLE or top-down
 *   rows; decodes compression 4 (embedded JPEG) as raw pixels.
 *
 * Supports: BITMAPCOREHEADER (OS/2, 12 bytes) and BITMAPINFOHEADER..V5 (40..124 bytes);
 * 1/4/8-bit palettes, 16/24/32-bit true colour, BI_BITFIELDS / BI_ALPHABITFIELDS masks,
 * RLE8 and RLE4, bottom-up and top-down rows. Alpha is ignored.
 */
import { PyramidFlowError } from '../util/errors.js';

export interface RgbInterleaved {
  width: number;
  height: number;
  /** Interleaved R,G,B per pixel, rows top to bottom. */
  data: Uint8Array;
}

const COMPRESSION_RGB = 0;
const COMPRESSION_RLE8 = 1;
const COMPRESSION_RLE4 = 2;
const COMPRESSION_BITFIELDS = 3;
const COMPRESSION_ALPHABITFIELDS = 6;
/** Refuse absurd headers before allocating (a corrupt file can claim 2^31 x 2^31 pixels). */
const MAX_PIXELS = 1 << 28;

export function isBmp(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x42 && bytes[1] === 0x4d;
}

interface BmpHeader {
  width: number;
  height: number;
  topDown: boolean;
  bitsPerPixel: number;
  compression: number;
  pixelOffset: number;
  palette: Uint8Array; // interleaved RGB, 3 bytes per entry
  masks: [number, number, number];
}

/** Reads the header only: enough for width and height (used to check mask sizes). */
export function readBmpSize(bytes: Uint8Array, name: string): { width: number; height: number } {
  const header = parseHeader(bytes, name);
  return { width: header.width, height: header.height };
}

export function decodeBmp(bytes: Uint8Array, name: string): RgbInterleaved {
  const header = parseHeader(bytes, name);
  const { width, height } = header;
  const out = new Uint8Array(width * height * 3);
  if (header.compression === COMPRESSION_RLE8 || header.compression === COMPRESSION_RLE4) {
    decodeRle(bytes, header, out, name);
  } else {
    decodeUncompressed(bytes, header, out, name);
  }
  return { width, height, data: out };
}

function parseHeader(bytes: Uint8Array, name: string): BmpHeader {
  const bad = (what: string): never => {
    throw new PyramidFlowError(`Cannot read BMP image "${name}": ${what}.`);
  };
  if (!isBmp(bytes)) bad('missing the "BM" signature');
  if (bytes.length < 26) bad('the file is truncated (header incomplete)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pixelOffset = view.getUint32(10, true);
  const dibSize = view.getUint32(14, true);
  if (14 + dibSize > bytes.length) bad('the file is truncated (header incomplete)');

  let width: number;
  let rawHeight: number;
  let bitsPerPixel: number;
  let compression = COMPRESSION_RGB;
  let colorsUsed = 0;
  let paletteEntrySize = 4;
  if (dibSize === 12) {
    width = view.getUint16(18, true);
    rawHeight = view.getInt16(20, true);
    bitsPerPixel = view.getUint16(24, true);
    paletteEntrySize = 3;
  } else if (dibSize >= 40) {
    width = view.getInt32(18, true);
    rawHeight = view.getInt32(22, true);
    bitsPerPixel = view.getUint16(28, true);
    compression = view.getUint32(30, true);
    colorsUsed = view.getUint32(46, true);
  } else {
    return bad(`unsupported header size ${dibSize}`);
  }
  const topDown = rawHeight < 0;
  const height = Math.abs(rawHeight);
  if (width <= 0 || height <= 0) bad(`invalid size ${width} x ${rawHeight}`);
  if (width * height > MAX_PIXELS) bad(`size ${width} x ${height} is too large`);
  if (![1, 4, 8, 16, 24, 32].includes(bitsPerPixel)) bad(`unsupported bit depth ${bitsPerPixel}`);
  if (![COMPRESSION_RGB, COMPRESSION_RLE8, COMPRESSION_RLE4, COMPRESSION_BITFIELDS, COMPRESSION_ALPHABITFIELDS].includes(compression)) {
    bad(`unsupported compression method ${compression} (embedded JPEG/PNG or unknown)`);
  }
  if (compression === COMPRESSION_RLE8 && bitsPerPixel !== 8) bad('RLE8 compression needs 8 bits per pixel');
  if (compression === COMPRESSION_RLE4 && bitsPerPixel !== 4) bad('RLE4 compression needs 4 bits per pixel');

  // Default masks; BITFIELDS replaces them. Masks follow a 40-byte header, or sit inside V2+.
  let masks: [number, number, number] = bitsPerPixel === 16 ? [0x7c00, 0x03e0, 0x001f] : [0x00ff0000, 0x0000ff00, 0x000000ff];
  let afterHeader = 14 + dibSize;
  if (compression === COMPRESSION_BITFIELDS || compression === COMPRESSION_ALPHABITFIELDS) {
    if (dibSize === 40) {
      const count = compression === COMPRESSION_ALPHABITFIELDS ? 4 : 3;
      if (afterHeader + 4 * count > bytes.length) bad('the file is truncated (colour masks missing)');
      masks = [view.getUint32(54, true), view.getUint32(58, true), view.getUint32(62, true)];
      afterHeader += 4 * count;
    } else {
      masks = [view.getUint32(54, true), view.getUint32(58, true), view.getUint32(62, true)];
    }
  }

  let palette = new Uint8Array(0);
  if (bitsPerPixel <= 8) {
    const maxEntries = 1 << bitsPerPixel;
    const entries = colorsUsed > 0 && colorsUsed <= maxEntries ? colorsUsed : maxEntries;
    const available = Math.floor((Math.min(pixelOffset, bytes.length) - afterHeader) / paletteEntrySize);
    const count = Math.min(entries, Math.max(available, 0));
    if (count <= 0) bad('the colour palette is missing');
    palette = new Uint8Array(maxEntries * 3); // indices past the palette read as black
    for (let i = 0; i < count; i++) {
      const at = afterHeader + i * paletteEntrySize;
      palette[i * 3] = bytes[at + 2]!;
      palette[i * 3 + 1] = bytes[at + 1]!;
      palette[i * 3 + 2] = bytes[at]!;
    }
  }
  if (pixelOffset >= bytes.length) bad('the file is truncated (no pixel data)');
  return { width, height, topDown, bitsPerPixel, compression, pixelOffset, palette, masks };
}

/** Converts a bit-field channel to 0..255, scaling short fields (5 bits -> 0..255) fully. */
function maskExtractor(mask: number): (value: number) => number {
  if (mask === 0) return () => 0;
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  const max = (mask >>> 0) / 2 ** shift; // mask >>> shift as an unsigned value
  return (value) => {
    const field = ((value & mask) >>> 0) / 2 ** shift;
    return Math.round((field * 255) / max);
  };
}

function decodeUncompressed(bytes: Uint8Array, header: BmpHeader, out: Uint8Array, name: string): void {
  const { width, height, bitsPerPixel, palette, pixelOffset } = header;
  const rowBytes = Math.ceil((width * bitsPerPixel) / 32) * 4;
  if (pixelOffset + rowBytes * height > bytes.length) {
    throw new PyramidFlowError(`Cannot read BMP image "${name}": the file is truncated (needs ${pixelOffset + rowBytes * height} bytes, has ${bytes.length}).`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [red, green, blue] = header.masks.map(maskExtractor) as [(v: number) => number, (v: number) => number, (v: number) => number];
  for (let fileRow = 0; fileRow < height; fileRow++) {
    const y = header.topDown ? fileRow : height - 1 - fileRow;
    const rowStart = pixelOffset + fileRow * rowBytes;
    let o = y * width * 3;
    for (let x = 0; x < width; x++, o += 3) {
      if (bitsPerPixel <= 8) {
        const bitPos = x * bitsPerPixel;
        const byte = bytes[rowStart + (bitPos >> 3)]!;
        const index = (byte >> (8 - bitsPerPixel - (bitPos & 7))) & ((1 << bitsPerPixel) - 1);
        out[o] = palette[index * 3]!;
        out[o + 1] = palette[index * 3 + 1]!;
        out[o + 2] = palette[index * 3 + 2]!;
      } else if (bitsPerPixel === 24) {
        const at = rowStart + x * 3;
        out[o] = bytes[at + 2]!;
        out[o + 1] = bytes[at + 1]!;
        out[o + 2] = bytes[at]!;
      } else {
        const value = bitsPerPixel === 16 ? view.getUint16(rowStart + x * 2, true) : view.getUint32(rowStart + x * 4, true);
        out[o] = red(value);
        out[o + 1] = green(value);
        out[o + 2] = blue(value);
      }
    }
  }
}

/** Run-length decoding (RLE8/RLE4); pixels that no run reaches stay palette entry 0's colour. */
function decodeRle(bytes: Uint8Array, header: BmpHeader, out: Uint8Array, name: string): void {
  const { width, height, palette } = header;
  const four = header.compression === COMPRESSION_RLE4;
  const indices = new Uint8Array(width * height);
  let pos = header.pixelOffset;
  let x = 0;
  let row = 0; // row in file order (bottom-up unless topDown)
  const need = (n: number): void => {
    if (pos + n > bytes.length) throw new PyramidFlowError(`Cannot read BMP image "${name}": the file is truncated (RLE data ends early).`);
  };
  const put = (index: number): void => {
    if (x < width && row < height) indices[row * width + x] = index;
    x++;
  };
  decoding: while (row < height) {
    need(2);
    const count = bytes[pos]!;
    const code = bytes[pos + 1]!;
    pos += 2;
    if (count > 0) {
      for (let i = 0; i < count; i++) put(four ? (i & 1 ? code & 15 : code >> 4) : code);
      continue;
    }
    switch (code) {
      case 0: // end of line
        x = 0;
        row++;
        break;
      case 1: // end of bitmap
        break decoding;
      case 2: // delta
        need(2);
        x += bytes[pos]!;
        row += bytes[pos + 1]!;
        pos += 2;
        break;
      default: {
        // absolute run of `code` pixels, padded to 16 bits
        const dataBytes = four ? Math.ceil(code / 2) : code;
        need(dataBytes);
        for (let i = 0; i < code; i++) {
          const b = bytes[pos + (four ? i >> 1 : i)]!;
          put(four ? (i & 1 ? b & 15 : b >> 4) : b);
        }
        pos += dataBytes + (dataBytes & 1);
      }
    }
  }
  for (let fileRow = 0; fileRow < height; fileRow++) {
    const y = header.topDown ? fileRow : height - 1 - fileRow;
    for (let px = 0; px < width; px++) {
      const index = indices[fileRow * width + px]!;
      const o = (y * width + px) * 3;
      out[o] = palette[index * 3]!;
      out[o + 1] = palette[index * 3 + 1]!;
      out[o + 2] = palette[index * 3 + 2]!;
    }
  }
}
