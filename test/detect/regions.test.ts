import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findRegions, pixelMask } from '../../src/detect/regions.js';
import { outlineOfMask } from '../../src/detect/pictures.js';

// A 4x4 map whose middle 2x2 block sits exactly at the threshold and one pixel above it.
const W = 4,
  H = 4,
  T = 0.5;
const map = new Float32Array(W * H).fill(0.1);
map[5] = T;
map[6] = T;
map[9] = T;
map[10] = 0.75;

test('one rule for the defect mask: above the threshold, not at it', () => {
  const mask = pixelMask(map, T);
  assert.deepEqual(
    [...mask].map((v, i) => (v ? i : -1)).filter((i) => i >= 0),
    [10],
  );
});

test('regions, outlines and masks agree at the threshold', () => {
  const regions = findRegions(map, W, H, T);
  assert.equal(regions.length, 1);
  assert.deepEqual(regions[0], { area: 1, x: 2, y: 2, width: 1, height: 1, peak: 0.75 });
  const outline = outlineOfMask(pixelMask(map, T), W, H);
  const outlined = [...outline].reduce((s, v) => s + v, 0);
  assert.equal(
    outlined,
    regions.reduce((s, r) => s + r.area, 0),
    'a one-pixel region is its own outline',
  );
});
