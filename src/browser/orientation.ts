/**
 * EXIF orientation, neutralised. Node decodes an image as it is stored (sharp without rotate(),
 * as PIL does in the official code), but Chromium's createImageBitmap turns it as its EXIF
 * orientation says, whatever `imageOrientation` asks ('none' now means 'from-image'). So the
 * browser gets a copy of the bytes whose orientation tag says 1 (as stored): in a JPEG's APP1
 * Exif segment, in a PNG's eXIf chunk (whose CRC is then recomputed). Nothing else changes.
 */
import { crc32 } from '../util/crc32.js';

/** The TIFF structure of an Exif block: the offset of IFD0's orientation value (a SHORT), or -1. */
function orientationOffset(b: Uint8Array, tiff: number, end: number): number {
  if (tiff + 8 > end) return -1;
  const little = b[tiff] === 0x49 && b[tiff + 1] === 0x49;
  const big = b[tiff] === 0x4d && b[tiff + 1] === 0x4d;
  if (!little && !big) return -1;
  const u16 = (at: number): number => (little ? b[at]! | (b[at + 1]! << 8) : (b[at]! << 8) | b[at + 1]!);
  const u32 = (at: number): number => (little ? u16(at) + u16(at + 2) * 65536 : u16(at) * 65536 + u16(at + 2));
  const ifd = tiff + u32(tiff + 4);
  if (ifd + 2 > end) return -1;
  const count = u16(ifd);
  for (let k = 0; k < count; k++) {
    const entry = ifd + 2 + 12 * k;
    if (entry + 12 > end) return -1;
    // tag 0x0112 Orientation, type 3 SHORT, count 1: the value sits in the entry's first two value bytes
    if (u16(entry) === 0x0112 && u16(entry + 2) === 3) return entry + 8;
  }
  return -1;
}

/** Writes orientation 1 at `at` in the byte order of the TIFF block at `tiff`; true if it was another value. */
function setUpright(b: Uint8Array, tiff: number, at: number): boolean {
  const little = b[tiff] === 0x49;
  const value = little ? b[at]! | (b[at + 1]! << 8) : (b[at]! << 8) | b[at + 1]!;
  if (value === 1) return false;
  b[at] = little ? 1 : 0;
  b[at + 1] = little ? 0 : 1;
  return true;
}

function jpegUpright(src: Uint8Array): Uint8Array {
  for (let at = 2; at + 4 <= src.length; ) {
    if (src[at] !== 0xff) break;
    const marker = src[at + 1]!;
    if (marker === 0xda || marker === 0xd9) break; // image data: no more metadata segments
    const length = (src[at + 2]! << 8) | src[at + 3]!;
    const exif = at + 4;
    if (marker === 0xe1 && String.fromCharCode(...src.subarray(exif, exif + 4)) === 'Exif') {
      const end = Math.min(src.length, at + 2 + length);
      const value = orientationOffset(src, exif + 6, end);
      if (value >= 0) {
        const copy = src.slice();
        return setUpright(copy, exif + 6, value) ? copy : src;
      }
    }
    at += 2 + length;
  }
  return src;
}

function pngUpright(src: Uint8Array): Uint8Array {
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  for (let at = 8; at + 12 <= src.length; ) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(...src.subarray(at + 4, at + 8));
    if (type === 'IDAT' || type === 'IEND') break;
    if (type === 'eXIf' && at + 12 + length <= src.length) {
      const value = orientationOffset(src, at + 8, at + 8 + length);
      if (value < 0) return src;
      const copy = src.slice();
      if (!setUpright(copy, at + 8, value)) return src;
      new DataView(copy.buffer).setUint32(at + 8 + length, crc32(copy.subarray(at + 4, at + 8 + length)));
      return copy;
    }
    at += 12 + length;
  }
  return src;
}

/** The bytes with their EXIF orientation set to 1 (a copy), or the same bytes when there is none to change. */
export function withoutOrientation(bytes: Uint8Array, format: 'png' | 'jpeg'): Uint8Array {
  return format === 'jpeg' ? jpegUpright(bytes) : pngUpright(bytes);
}
