import { test } from 'node:test';
import assert from 'node:assert/strict';
import { officialThresholds } from '../../src/metrics/official.js';
import { aupro, officialPro } from '../../src/metrics/pixel.js';
import { Random } from '../../src/util/random.js';
import { assertClose, bruteOfficialPro, randomTestSet, type TestSet } from './brute.js';

function official(set: TestSet): number {
  return officialPro(set.maps, set.masks, set.widths, set.heights);
}

test('200 float32 thresholds from 0 in steps of float32(1/200), as numpy arange makes them', () => {
  const thresholds = officialThresholds();
  assert.equal(thresholds.length, 200);
  assert.equal(thresholds[0], 0);
  assert.equal(thresholds[1], Math.fround(0.005));
  assert.equal(thresholds[100], 0.5); // 100 * float32(0.005) rounds to 0.5 in float32
  assert.equal(thresholds[199], Math.fround(199 * Math.fround(0.005)));
});

test('pixels exactly on thresholds, and one float32 step above, are counted as the official code does', () => {
  // Values 0 and 1 fix the normalisation to the identity; the others sit on t_k or just above.
  const thresholds = officialThresholds();
  const values = [0, 1, ...thresholds, ...thresholds.map((t) => Math.fround(t + Math.max(t * 2 ** -23, 2 ** -149)))];
  const random = new Random(2);
  const mask = Uint8Array.from(values, (_, p) => (p > 1 && random.next() < 0.3 ? 1 : 0));
  const set: TestSet = { maps: [Float32Array.from(values)], masks: [mask], widths: [values.length], heights: [1] };
  assertClose(official(set), bruteOfficialPro(set), 1e-12, 'official PRO');
  // Scaled maps go through the float32 normalisation.
  const scaled: TestSet = { ...set, maps: [Float32Array.from(values, (v) => v * 0.37 + 5)] };
  assertClose(official(scaled), bruteOfficialPro(scaled), 1e-12, 'official PRO, scaled');
});

test('hand-worked: not the standard AUPRO', () => {
  // Normalised to [1, .5, .5, 0]; the anomalous pixel (1) exceeds every threshold, the two
  // normal .5 pixels exceed thresholds 0..99 only (t_100 = .5, strict >). The curve: FPR 2/3 at
  // PRO 1 for i < 100, then FPR 0 at PRO 1: area 2/3. The standard full-range AUPRO is 1.
  const set: TestSet = { maps: [Float32Array.from([3, 2, 2, 1])], masks: [Uint8Array.from([1, 0, 0, 0])], widths: [4], heights: [1] };
  assertClose(official(set), 2 / 3, 1e-12, 'official PRO');
  assert.equal(aupro(set.maps, set.masks, set.widths, set.heights, 1).aupro, 1);
});

test('NaN without regions, without normal pixels, or with constant maps', () => {
  assert.ok(Number.isNaN(official({ maps: [Float32Array.from([1, 2])], masks: [null], widths: [2], heights: [1] })));
  assert.ok(Number.isNaN(official({ maps: [Float32Array.from([1, 2])], masks: [Uint8Array.from([1, 1])], widths: [2], heights: [1] })));
  assert.ok(Number.isNaN(official({ maps: [Float32Array.from([2, 2])], masks: [Uint8Array.from([1, 0])], widths: [2], heights: [1] })));
});

test('random maps of several sizes agree with the official procedure run literally', () => {
  const random = new Random(4);
  for (let trial = 0; trial < 12; trial++) {
    const set = randomTestSet(random, 2 + random.int(4), () => [1 + random.int(10), 1 + random.int(10)], 3 + random.int(200));
    // Shift and scale so that normalisation does real float32 work.
    set.maps = set.maps.map((map) => map.map((v) => v * 3.7 - 1.3));
    const hasRegion = set.masks.some((m) => m?.some((v) => v !== 0));
    const expected = hasRegion ? bruteOfficialPro(set) : NaN;
    assertClose(official(set), expected, 1e-12, `trial ${trial}`);
  }
});
