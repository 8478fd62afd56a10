/**
 * Single-channel float32 TIFF, written and read here: sharp turns raw float input into 8-bit
 * sRGB before saving, so it cannot write these. The layout is the plainest baseline TIFF
 * (little-endian, uncompressed, one strip, SampleFormat = IEEE float), which tifffile (the
 * MVTec AD evaluation code), PIL and libtiff all read.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../util/atomic-file.js';
import { checkOutputFile, type OutputRule } from '../util/output-file.js';
import { PyramidFlowError } from '../util/errors.js';
import { describeFsError } from './decode.js';

export interface FloatImage {
  width: number;
  height: number;
  data: Float32Array;
}

const TAG_IMAGE_WIDTH = 256;
const TAG_IMAGE_LENGTH = 257;
const TAG_BITS_PER_SAMPLE = 258;
const TAG_COMPRESSION = 259;
const TAG_PHOTOMETRIC = 262;
const TAG_STRIP_OFFSETS = 273;
const TAG_SAMPLES_PER_PIXEL = 277;
const TAG_ROWS_PER_STRIP = 278;
const TAG_STRIP_BYTE_COUNTS = 279;
const TAG_PLANAR_CONFIG = 284;
const TAG_SAMPLE_FORMAT = 339;
const TYPE_SHORT = 3;
const TYPE_LONG = 4;
const SAMPLE_FORMAT_FLOAT = 3;

export function encodeFloatTiff(data: Float32Array, width: number, height: number): Uint8Array {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`writeFloatTiff: invalid size ${width} x ${height}`);
  }
  if (data.length !== width * height) throw new RangeError(`writeFloatTiff: expected ${width * height} values, got ${data.length}`);
  const entries: [tag: number, type: number, value: number][] = [
    [TAG_IMAGE_WIDTH, TYPE_LONG, width],
    [TAG_IMAGE_LENGTH, TYPE_LONG, height],
    [TAG_BITS_PER_SAMPLE, TYPE_SHORT, 32],
    [TAG_COMPRESSION, TYPE_SHORT, 1],
    [TAG_PHOTOMETRIC, TYPE_SHORT, 1], // BlackIsZero
    [TAG_STRIP_OFFSETS, TYPE_LONG, 0], // patched below
    [TAG_SAMPLES_PER_PIXEL, TYPE_SHORT, 1],
    [TAG_ROWS_PER_STRIP, TYPE_LONG, height],
    [TAG_STRIP_BYTE_COUNTS, TYPE_LONG, width * height * 4],
    [TAG_PLANAR_CONFIG, TYPE_SHORT, 1],
    [TAG_SAMPLE_FORMAT, TYPE_SHORT, SAMPLE_FORMAT_FLOAT],
  ];
  const ifdOffset = 8;
  const ifdSize = 2 + entries.length * 12 + 4;
  const dataOffset = ifdOffset + ifdSize + ((4 - ((ifdOffset + ifdSize) % 4)) % 4);
  const bytes = new Uint8Array(dataOffset + data.length * 4);
  const view = new DataView(bytes.buffer);
  bytes[0] = 0x49; // "II": little-endian
  bytes[1] = 0x49;
  view.setUint16(2, 42, true);
  view.setUint32(4, ifdOffset, true);
  view.setUint16(ifdOffset, entries.length, true);
  entries.forEach(([tag, type, value], i) => {
    const at = ifdOffset + 2 + i * 12;
    view.setUint16(at, tag, true);
    view.setUint16(at + 2, type, true);
    view.setUint32(at + 4, 1, true);
    const v = tag === TAG_STRIP_OFFSETS ? dataOffset : value;
    if (type === TYPE_SHORT) view.setUint16(at + 8, v, true);
    else view.setUint32(at + 8, v, true);
  });
  view.setUint32(ifdOffset + 2 + entries.length * 12, 0, true); // no next IFD
  for (let i = 0; i < data.length; i++) view.setFloat32(dataOffset + i * 4, data[i]!, true);
  return bytes;
}

/** The rule for map files: a TIFF is replaced (an earlier map), any other file is not. */
export const MAP_FILE_RULE: OutputRule = {
  kind: 'TIFF map',
  recognise: (h) =>
    h.length >= 4 && ((h[0] === 0x49 && h[1] === 0x49 && h[2] === 0x2a && h[3] === 0) || (h[0] === 0x4d && h[1] === 0x4d && h[2] === 0 && h[3] === 0x2a)),
  force: true,
  forceFlag: '',
};

export async function writeFloatTiff(path: string, data: Float32Array, width: number, height: number): Promise<void> {
  checkOutputFile(path, MAP_FILE_RULE);
  const bytes = encodeFloatTiff(data, width, height);
  try {
    writeFileAtomic(path, bytes);
  } catch (err) {
    throw new PyramidFlowError(`Cannot write TIFF "${path}": ${describeFsError(err)}.`);
  }
}

export async function readFloatTiff(path: string): Promise<FloatImage> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new PyramidFlowError(`Cannot read TIFF "${path}": ${describeFsError(err)}.`);
  }
  return decodeFloatTiff(bytes, path);
}

/**
 * Reads single-channel, uncompressed float32 TIFFs in either byte order, in any number of
 * strips: what we write and what tifffile writes by default. Anything else is refused.
 */
export function decodeFloatTiff(bytes: Uint8Array, name: string): FloatImage {
  const bad = (what: string): never => {
    throw new PyramidFlowError(`Cannot read float TIFF "${name}": ${what}.`);
  };
  if (bytes.length < 8) bad('the file is truncated');
  const order = String.fromCharCode(bytes[0]!, bytes[1]!);
  if (order !== 'II' && order !== 'MM') bad('not a TIFF file');
  const little = order === 'II';
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint16(2, little) !== 42) bad('not a classic TIFF file (BigTIFF is not supported)');
  const ifd = view.getUint32(4, little);
  if (ifd + 2 > bytes.length) bad('the file is truncated');
  const count = view.getUint16(ifd, little);
  if (ifd + 2 + count * 12 > bytes.length) bad('the file is truncated');
  const tags = new Map<number, number[]>();
  for (let i = 0; i < count; i++) {
    const at = ifd + 2 + i * 12;
    const tag = view.getUint16(at, little);
    const type = view.getUint16(at + 2, little);
    const n = view.getUint32(at + 4, little);
    const size = type === TYPE_SHORT ? 2 : type === TYPE_LONG ? 4 : 0;
    if (size === 0) continue; // a tag type we do not need
    const valueAt = n * size <= 4 ? at + 8 : view.getUint32(at + 8, little);
    if (valueAt + n * size > bytes.length) bad(`tag ${tag} points past the end of the file`);
    const values: number[] = [];
    for (let k = 0; k < n; k++) {
      values.push(size === 2 ? view.getUint16(valueAt + k * 2, little) : view.getUint32(valueAt + k * 4, little));
    }
    tags.set(tag, values);
  }
  const one = (tag: number, fallback?: number): number => {
    const v = tags.get(tag)?.[0] ?? fallback;
    return v === undefined ? bad(`missing tag ${tag}`) : v;
  };
  const width = one(TAG_IMAGE_WIDTH);
  const height = one(TAG_IMAGE_LENGTH);
  if (one(TAG_SAMPLES_PER_PIXEL, 1) !== 1) bad('it has more than one channel');
  if (one(TAG_BITS_PER_SAMPLE, 1) !== 32 || one(TAG_SAMPLE_FORMAT, 1) !== SAMPLE_FORMAT_FLOAT) bad('its samples are not 32-bit float');
  if (one(TAG_COMPRESSION, 1) !== 1) bad('it is compressed (only uncompressed float TIFFs are read)');
  const offsets = tags.get(TAG_STRIP_OFFSETS) ?? bad('missing strip offsets');
  const counts = tags.get(TAG_STRIP_BYTE_COUNTS) ?? bad('missing strip byte counts');
  // The pixels must be in the file: a header cannot make us allocate more than it holds.
  if (width < 1 || height < 1 || width * height * 4 > bytes.length) bad(`its header claims ${width} x ${height} pixels, more than the file holds`);
  const out = new Float32Array(width * height);
  let filled = 0;
  for (let s = 0; s < offsets.length && filled < out.length; s++) {
    const start = offsets[s]!;
    const values = Math.min((counts[s] ?? 0) / 4, out.length - filled);
    if (start + values * 4 > bytes.length) bad('the file is truncated');
    for (let k = 0; k < values; k++) out[filled + k] = view.getFloat32(start + k * 4, little);
    filled += values;
  }
  if (filled !== out.length) bad(`pixel data holds ${filled} of ${out.length} values`);
  return { width, height, data: out };
}
