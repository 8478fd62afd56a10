import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COLOUR_MAP_LUT, blendRgb, heatmapRgb, maskToRgb, outlineOfMask, paintMask, scalePosition, shrink } from '../../src/detect/pictures.js';

/** CIE L* of an sRGB colour (0..100). */
function lightness(r: number, g: number, b: number): number {
  const linear = (c: number): number => {
    const v = c / 255;
    return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  const y = 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
  return y > 216 / 24389 ? 116 * Math.cbrt(y) - 16 : (24389 / 27) * y;
}

test('colour map: 256 entries, dark to light, lightness never decreases', () => {
  assert.equal(COLOUR_MAP_LUT.length, 256 * 3);
  assert.deepEqual([...COLOUR_MAP_LUT.subarray(0, 3)], [0, 0, 4]);
  assert.deepEqual([...COLOUR_MAP_LUT.subarray(255 * 3)], [0xfc, 0xff, 0xa4]);
  let previous = -1;
  for (let i = 0; i < 256; i++) {
    const l = lightness(COLOUR_MAP_LUT[i * 3], COLOUR_MAP_LUT[i * 3 + 1], COLOUR_MAP_LUT[i * 3 + 2]);
    assert.ok(l >= previous - 0.5, `entry ${i}: lightness ${l.toFixed(2)} < ${previous.toFixed(2)}`);
    previous = l;
  }
  assert.ok(previous > 95);
});

test('heat map uses the fixed scale: below min is the first colour, above max the last', () => {
  const rgb = heatmapRgb(new Float32Array([-5, 0, 1, 9, NaN]), 0, 1);
  const first = [...COLOUR_MAP_LUT.subarray(0, 3)];
  const last = [...COLOUR_MAP_LUT.subarray(765)];
  assert.deepEqual([...rgb.subarray(0, 3)], first);
  assert.deepEqual([...rgb.subarray(3, 6)], first);
  assert.deepEqual([...rgb.subarray(6, 9)], last);
  assert.deepEqual([...rgb.subarray(9, 12)], last);
  assert.deepEqual([...rgb.subarray(12, 15)], first);
  assert.equal(scalePosition(0.25, 0, 0.5), 0.5);
  assert.equal(scalePosition(3, 2, 2), 1); // degenerate scale: at or above is the top
});

test('outline of a square mask is its border ring', () => {
  const width = 10;
  const height = 8;
  const mask = new Uint8Array(width * height);
  for (let y = 2; y < 6; y++) for (let x = 3; x < 7; x++) mask[y * width + x] = 1;
  const outline = outlineOfMask(mask, width, height);
  const expected = new Uint8Array(width * height);
  for (let y = 2; y < 6; y++) for (let x = 3; x < 7; x++) if (y === 2 || y === 5 || x === 3 || x === 6) expected[y * width + x] = 1;
  assert.deepEqual(outline, expected);
  assert.equal(
    outline.reduce((a, b) => a + b, 0),
    12,
  );
});

test('a mask touching the image edge is closed by its outline; a full mask outlines the frame', () => {
  const full = new Uint8Array(4 * 3).fill(1);
  const outline = outlineOfMask(full, 4, 3);
  assert.deepEqual([...outline], [1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1]);
});

test('painting and blending', () => {
  const mask = new Uint8Array([0, 1, 1]);
  const painted = paintMask(new Uint8Array(9), mask, [255, 0, 0]);
  assert.deepEqual([...painted], [0, 0, 0, 255, 0, 0, 255, 0, 0]);
  assert.deepEqual([...maskToRgb(mask)], [0, 0, 0, 255, 255, 255, 255, 255, 255]);
  const blended = blendRgb(new Uint8Array([0, 100, 200]), new Uint8Array([200, 100, 0]), 0.5);
  assert.deepEqual([...blended], [100, 100, 100]);
  const perPixel = blendRgb(new Uint8Array([0, 0, 0, 0, 0, 0]), new Uint8Array([100, 100, 100, 100, 100, 100]), new Float32Array([0, 1]));
  assert.deepEqual([...perPixel], [0, 0, 0, 100, 100, 100]);
});

test('shrink keeps map maxima and averages photos, with partial edge blocks', () => {
  const map = new Float32Array([0, 0, 0, 0, 9, 0, 0, 0, 0]); // 3x3
  const shrunk = shrink(map, 3, 3, 1, 2, 'max');
  assert.deepEqual([...shrunk], [9, 0, 0, 0]);
  const rgb = new Uint8Array([0, 0, 0, 10, 10, 10, 20, 20, 20, 30, 30, 30]); // 2x2
  assert.deepEqual([...shrink(rgb, 2, 2, 3, 2, 'mean')], [15, 15, 15]);
  assert.equal(shrink(map, 3, 3, 1, 1, 'max'), map);
});
