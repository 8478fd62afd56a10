import { test } from 'node:test';
import assert from 'node:assert/strict';
import { calibrateThresholds, normalizeScore, upperQuantile } from '../../src/detect/thresholds.js';
import { findRegions } from '../../src/detect/regions.js';
import { Random } from '../../src/util/random.js';

test('the upper quantile lets exactly floor(rate * n) values exceed it (brute force, with ties)', () => {
  const rng = new Random(4);
  for (let trial = 0; trial < 50; trial++) {
    const n = 1 + rng.int(300);
    const values = Float32Array.from({ length: n }, () => rng.int(20) / 4);
    const rate = rng.next() * 0.2;
    const { threshold, resolved } = upperQuantile(values, rate);
    const exceed = values.filter((v) => v > threshold).length;
    assert.ok(exceed <= Math.floor(rate * n), `at most the allowed count exceeds (${exceed} > ${Math.floor(rate * n)})`);
    // No smaller value present in the data would also keep within the allowance, unless ties block it.
    const smaller = [...values].filter((v) => v < threshold).sort((a, b) => b - a)[0];
    if (smaller !== undefined) assert.ok(values.filter((v) => v > smaller).length > Math.floor(rate * n));
    assert.equal(resolved, Math.floor(rate * n) >= 1);
  }
});

test('calibration from good maps: thresholds, a note when too few images, scale and normalised score', () => {
  const maps = Array.from({ length: 10 }, (_, i) => Float32Array.from({ length: 100 }, (_, p) => (p === 0 ? 1 + i : p / 100)));
  const t = calibrateThresholds(maps, { image: 0.01, pixel: 0.01 }, 'holdout');
  assert.equal(t.image, 10); // 10 images cannot resolve 1%: the highest good score
  assert.match(t.note ?? '', /only 10 good image\(s\).*at least 100/);
  const pixels = maps.flatMap((m) => [...m]).sort((a, b) => a - b);
  assert.equal(t.pixel, pixels[pixels.length - 1 - 10]); // 1% of 1000 pixels may exceed
  assert.ok(t.scaleMax > t.scaleMin);
  assert.equal(normalizeScore(t.image, t), 0.5);
  assert.ok(normalizeScore(t.image + 1, t) > 0.5 && normalizeScore(t.image - 1, t) < 0.5);
});

test('regions: 8-connected components above the threshold with area, box and peak; small ones dropped', () => {
  const W = 6,
    H = 5;
  const map = new Float32Array(W * H);
  // A diagonal pair (one region under 8-connectivity) and a separate 2x2 block.
  map[0] = 5;
  map[W + 1] = 6;
  for (const [x, y] of [
    [4, 3],
    [5, 3],
    [4, 4],
    [5, 4],
  ] as const)
    map[y * W + x] = 2;
  const regions = findRegions(map, W, H, 1);
  assert.deepEqual(regions, [
    { area: 2, x: 0, y: 0, width: 2, height: 2, peak: 6 },
    { area: 4, x: 4, y: 3, width: 2, height: 2, peak: 2 },
  ]);
  assert.equal(findRegions(map, W, H, 1, 3).length, 1);
});
