import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeBmp, readBmpSize } from '../../src/data/bmp.js';
import { PyramidFlowError } from '../../src/util/errors.js';

interface BmpSpec {
  width: number;
  height: number;
  bpp: number;
  /** Rows top to bottom, already packed for the bit depth (without padding). */
  rows: number[][];
  palette?: [number, number, number][];
  topDown?: boolean;
  compression?: number;
  masks?: [number, number, number];
  /** Raw pixel data instead of rows (RLE). */
  raw?: number[];
  /** Unused bytes between the palette and the pixel data (the pixel-data offset skips them). */
  gap?: number;
}

/** Builds a BMP by hand, following the format description (BITMAPINFOHEADER). */
function buildBmp(spec: BmpSpec): Uint8Array {
  const palette = spec.palette ?? [];
  const maskBytes = spec.masks ? 12 : 0;
  const headerEnd = 14 + 40 + maskBytes + palette.length * 4 + (spec.gap ?? 0);
  const rowBytes = Math.ceil((spec.width * spec.bpp) / 32) * 4;
  let pixels: number[];
  if (spec.raw) {
    pixels = spec.raw;
  } else {
    const fileRows = spec.topDown ? spec.rows : [...spec.rows].reverse();
    pixels = fileRows.flatMap((row) => [...row, ...new Array(rowBytes - row.length).fill(0)]);
  }
  const bytes = new Uint8Array(headerEnd + pixels.length);
  const view = new DataView(bytes.buffer);
  bytes[0] = 0x42;
  bytes[1] = 0x4d;
  view.setUint32(2, bytes.length, true);
  view.setUint32(10, headerEnd, true);
  view.setUint32(14, 40, true);
  view.setInt32(18, spec.width, true);
  view.setInt32(22, spec.topDown ? -spec.height : spec.height, true);
  view.setUint16(26, 1, true);
  view.setUint16(28, spec.bpp, true);
  view.setUint32(30, spec.compression ?? 0, true);
  view.setUint32(46, palette.length, true);
  if (spec.masks) spec.masks.forEach((m, i) => view.setUint32(54 + i * 4, m, true));
  palette.forEach(([r, g, b], i) => bytes.set([b, g, r, 0], 54 + maskBytes + i * 4));
  bytes.set(pixels, headerEnd);
  return bytes;
}

const PALETTE: [number, number, number][] = [
  [10, 20, 30],
  [200, 100, 50],
  [0, 255, 0],
  [1, 2, 3],
];

describe('decodeBmp', () => {
  it('reads 24-bit bottom-up rows with padding, BGR order', () => {
    // 3 x 2: rows of 9 bytes padded to 12.
    const bmp = buildBmp({
      width: 3,
      height: 2,
      bpp: 24,
      rows: [
        [3, 2, 1, 6, 5, 4, 9, 8, 7], // top row: (1,2,3) (4,5,6) (7,8,9) as BGR
        [30, 20, 10, 60, 50, 40, 90, 80, 70],
      ],
    });
    const { width, height, data } = decodeBmp(bmp, 'x.bmp');
    assert.equal(width, 3);
    assert.equal(height, 2);
    assert.deepEqual([...data], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
  });

  it('reads top-down files (negative height)', () => {
    const bmp = buildBmp({
      width: 1,
      height: 2,
      bpp: 24,
      topDown: true,
      rows: [
        [3, 2, 1],
        [6, 5, 4],
      ],
    });
    assert.deepEqual([...decodeBmp(bmp, 'x.bmp').data], [1, 2, 3, 4, 5, 6]);
  });

  it('reads 8-bit palette images as RGB', () => {
    const bmp = buildBmp({
      width: 2,
      height: 2,
      bpp: 8,
      palette: PALETTE,
      rows: [
        [0, 1],
        [2, 3],
      ],
    });
    assert.deepEqual([...decodeBmp(bmp, 'x.bmp').data], [10, 20, 30, 200, 100, 50, 0, 255, 0, 1, 2, 3]);
  });

  it('reads 4-bit and 1-bit palettes, high bits first, odd widths', () => {
    const four = buildBmp({ width: 3, height: 1, bpp: 4, palette: PALETTE, rows: [[0x12, 0x30]] });
    assert.deepEqual([...decodeBmp(four, 'x.bmp').data], [200, 100, 50, 0, 255, 0, 1, 2, 3]);
    const one = buildBmp({ width: 3, height: 1, bpp: 1, palette: PALETTE.slice(0, 2), rows: [[0b10100000]] });
    assert.deepEqual([...decodeBmp(one, 'x.bmp').data], [200, 100, 50, 10, 20, 30, 200, 100, 50]);
  });

  it('reads 32-bit BGRX and bit-field layouts (alpha ignored)', () => {
    const plain = buildBmp({ width: 1, height: 1, bpp: 32, rows: [[30, 20, 10, 255]] });
    assert.deepEqual([...decodeBmp(plain, 'x.bmp').data], [10, 20, 30]);
    // RGBA in the high bytes: R = 0xff000000 (a mask with the sign bit set).
    const rgba = buildBmp({ width: 1, height: 1, bpp: 32, compression: 3, masks: [0xff000000, 0x00ff0000, 0x0000ff00], rows: [[7, 30, 20, 10]] });
    assert.deepEqual([...decodeBmp(rgba, 'x.bmp').data], [10, 20, 30]);
  });

  it('scales 16-bit 565 fields to the full 0..255 range', () => {
    const value = (31 << 11) | (0 << 5) | 16; // red max, green 0, blue 16/31
    const bmp = buildBmp({ width: 1, height: 1, bpp: 16, compression: 3, masks: [0xf800, 0x07e0, 0x001f], rows: [[value & 255, value >> 8]] });
    assert.deepEqual([...decodeBmp(bmp, 'x.bmp').data], [255, 0, Math.round((16 * 255) / 31)]);
  });

  it('decodes RLE8 (runs, absolute runs, end of line, end of bitmap)', () => {
    // Bottom row: run of 2 x index 1, then absolute [2, 3, 0] (padded to even); top row: 5 x index 3.
    const raw = [2, 1, 0, 3, 2, 3, 0, 0, 0, 0, 5, 3, 0, 1];
    const bmp = buildBmp({ width: 5, height: 2, bpp: 8, compression: 1, palette: PALETTE, rows: [], raw });
    const data = decodeBmp(bmp, 'x.bmp').data;
    const top = [...data.subarray(0, 15)];
    const bottom = [...data.subarray(15)];
    assert.deepEqual(top, [1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3]);
    assert.deepEqual(bottom, [200, 100, 50, 200, 100, 50, 0, 255, 0, 1, 2, 3, 10, 20, 30]);
  });

  it('honours the pixel-data offset (bytes between the palette and the pixels)', () => {
    const pal = buildBmp({
      width: 2,
      height: 2,
      bpp: 8,
      palette: PALETTE,
      gap: 6,
      rows: [
        [0, 1],
        [2, 3],
      ],
    });
    assert.deepEqual([...decodeBmp(pal, 'x.bmp').data], [10, 20, 30, 200, 100, 50, 0, 255, 0, 1, 2, 3]);
    const rgb = buildBmp({
      width: 1,
      height: 2,
      bpp: 24,
      gap: 2,
      rows: [
        [3, 2, 1],
        [6, 5, 4],
      ],
    });
    assert.deepEqual([...decodeBmp(rgb, 'x.bmp').data], [1, 2, 3, 4, 5, 6]);
  });

  it('reads 16-bit 5-5-5 without masks (the default layout)', () => {
    const value = (31 << 10) | (0 << 5) | 16;
    const bmp = buildBmp({ width: 1, height: 1, bpp: 16, rows: [[value & 255, value >> 8]] });
    assert.deepEqual([...decodeBmp(bmp, 'x.bmp').data], [255, 0, Math.round((16 * 255) / 31)]);
  });

  it('decodes RLE8 that ends the last row with end of line before end of bitmap (as ImageMagick writes it)', () => {
    // Same image as above, with 00 00 after the top row too. libnsbmp (@cwasm/nsbmp, bmpimagejs) rejects this.
    const raw = [2, 1, 0, 3, 2, 3, 0, 0, 0, 0, 5, 3, 0, 0, 0, 1];
    const bmp = buildBmp({ width: 5, height: 2, bpp: 8, compression: 1, palette: PALETTE, rows: [], raw });
    const data = [...decodeBmp(bmp, 'x.bmp').data];
    assert.deepEqual(data.slice(0, 15), [1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3]);
    assert.deepEqual(data.slice(15), [200, 100, 50, 200, 100, 50, 0, 255, 0, 1, 2, 3, 10, 20, 30]);
  });

  it('decodes RLE4 (nibble runs and absolute runs)', () => {
    // Run of 4 alternating 1,2; absolute run 3,0,1 (2 bytes, already even); end of line; end of bitmap.
    const raw = [4, 0x12, 0, 3, 0x30, 0x10, 0, 0, 0, 1];
    const bmp = buildBmp({ width: 7, height: 1, bpp: 4, compression: 2, palette: PALETTE, rows: [], raw });
    const [c0, c1, c2, c3] = PALETTE;
    assert.deepEqual([...decodeBmp(bmp, 'x.bmp').data], [c1, c2, c1, c2, c3, c0, c1].flat());
  });

  it('reads the size from the header alone', () => {
    const bmp = buildBmp({ width: 3, height: 2, bpp: 24, rows: [[], []] });
    assert.deepEqual(readBmpSize(bmp.subarray(0, 60), 'x.bmp'), { width: 3, height: 2 });
  });

  it('refuses truncated, compressed-JPEG and malformed files with the file name', () => {
    const good = buildBmp({ width: 4, height: 4, bpp: 24, rows: new Array(4).fill(new Array(12).fill(0)) });
    const cases: [Uint8Array, RegExp][] = [
      [good.subarray(0, good.length - 5), /truncated/],
      [good.subarray(0, 20), /truncated/],
      [buildBmp({ width: 1, height: 1, bpp: 24, compression: 4, rows: [[0, 0, 0]] }), /compression/],
      [buildBmp({ width: 1, height: 1, bpp: 7, rows: [[0]] }), /bit depth/],
      [buildBmp({ width: 0, height: 1, bpp: 24, rows: [[]] }), /invalid size/],
    ];
    for (const [bytes, reason] of cases) {
      assert.throws(
        () => decodeBmp(bytes, 'dir/broken.bmp'),
        (err: unknown) => err instanceof PyramidFlowError && err.message.includes('dir/broken.bmp') && reason.test(err.message),
      );
    }
  });
});
