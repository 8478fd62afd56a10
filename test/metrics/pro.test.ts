import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aupro } from '../../src/metrics/pixel.js';
import { Random } from '../../src/util/random.js';
import { assertClose, bruteProCurve, mvtecTrapezoid, randomTestSet, type TestSet } from './brute.js';

/**
 * 4x2 image, regions A = {(0,0)} and B = {(3,0),(3,1)} (8-connected), five normal pixels.
 * Descending: 0.9 A, 0.8 B, 0.5 n, 0.4 n, 0.3 n+B (tie), 0.2 n, 0.1 n, giving the points
 * (0,0) (0,.5) (0,.75) (.2,.75) (.4,.75) (.6,1) (.8,1) (1,1).
 */
const handMade: TestSet = {
  maps: [Float32Array.from([0.9, 0.1, 0.2, 0.8, 0.3, 0.4, 0.5, 0.3])],
  masks: [Uint8Array.from([1, 0, 0, 1, 0, 0, 0, 1])],
  widths: [4],
  heights: [2],
};

function run(set: TestSet, fprLimit?: number, points?: number) {
  return aupro(set.maps, set.masks, set.widths, set.heights, fprLimit, points);
}

test('hand-worked AUPRO: interpolation at the limit, last point of tied scores', () => {
  const { aupro: at03, curve } = run(handMade, 0.3, Infinity);
  assert.deepEqual(curve.fpr, [0, 0, 0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(curve.pro, [0, 0.5, 0.75, 0.75, 0.75, 1, 1, 1]);
  assertClose(at03, 0.225 / 0.3, 1e-12, 'limit 0.3');
  // Between (.4,.75) and (.6,1): PRO .875 at FPR .5. Splitting the tie would give .75 there.
  assertClose(run(handMade, 0.5).aupro, 0.38125 / 0.5, 1e-12, 'limit 0.5');
  assertClose(run(handMade, 1).aupro, 0.875, 1e-12, 'full range');
  // A limit that is a curve point needs no interpolation.
  assertClose(run(handMade, 0.4).aupro, 0.3 / 0.4, 1e-12, 'limit 0.4');
});

test('PRO averages over regions, not pixels: a small region weighs as much as a large one', () => {
  // Region A: 1 pixel found first; region B: 3 pixels found last; one normal pixel between.
  const set: TestSet = {
    maps: [Float32Array.from([5, 4, 1, 1, 1])],
    masks: [Uint8Array.from([1, 0, 1, 1, 1])],
    widths: [5],
    heights: [1],
  };
  const { curve, aupro: full } = run(set, 1, Infinity);
  assert.deepEqual(curve.pro, [0, 0.5, 0.5, 1]);
  assert.deepEqual(curve.fpr, [0, 0, 1, 1]);
  assert.equal(full, 0.5);
});

test('undefined cases: no anomalous pixel or no normal pixel gives NaN and an empty curve', () => {
  const good = run({ maps: [new Float32Array(4)], masks: [null], widths: [2], heights: [2] });
  assert.ok(Number.isNaN(good.aupro));
  assert.deepEqual(good.curve, { fpr: [], pro: [] });
  const allBad = run({ maps: [Float32Array.from([1, 2])], masks: [Uint8Array.from([1, 1])], widths: [2], heights: [1] });
  assert.ok(Number.isNaN(allBad.aupro));
  assert.throws(() => run(handMade, 0), RangeError);
  assert.throws(() => run(handMade, 1.5), RangeError);
  assert.throws(() => run({ ...handMade, maps: [Float32Array.from([NaN, 0, 0, 0, 0, 0, 0, 0])] }), RangeError);
  const negativeNan = new Float32Array(8);
  new Uint32Array(negativeNan.buffer)[7] = 0xffc00000; // NaN with the sign bit set
  assert.throws(() => run({ ...handMade, maps: [negativeNan] }), RangeError);
  assert.throws(() => run({ ...handMade, widths: [3] }), RangeError);
});

test('random maps with ties and images of different sizes agree with the definition', () => {
  const random = new Random(21);
  for (let trial = 0; trial < 25; trial++) {
    const set = randomTestSet(random, 1 + random.int(5), () => [1 + random.int(12), 1 + random.int(12)], 2 + random.int(30));
    const expected = bruteProCurve(set);
    const hasNormal = expected.fpr.at(-1) === 1;
    const hasRegion = set.masks.some((m) => m?.some((v) => v !== 0));
    const { curve } = run(set, 0.3, Infinity);
    if (!hasNormal || !hasRegion) {
      assert.deepEqual(curve, { fpr: [], pro: [] });
      continue;
    }
    assert.equal(curve.fpr.length, expected.fpr.length);
    curve.fpr.forEach((x, i) => assertClose(x, expected.fpr[i]!, 1e-12, `trial ${trial} fpr ${i}`));
    curve.pro.forEach((y, i) => assertClose(y, expected.pro[i]!, 1e-12, `trial ${trial} pro ${i}`));
    for (const limit of [0.05, 0.3, 0.77, 1]) {
      const value = run(set, limit, 7).aupro;
      assertClose(value, mvtecTrapezoid(expected.fpr, expected.pro, limit) / limit, 1e-12, `trial ${trial} limit ${limit}`);
    }
  }
});

test('thinned PRO curve keeps both ends and at most the requested points', () => {
  const random = new Random(8);
  const set = randomTestSet(random, 6, () => [64, 48], 4000);
  const { curve } = run(set, 0.3, 40);
  assert.ok(curve.fpr.length <= 40 && curve.fpr.length > 20, `${curve.fpr.length} points`);
  assert.equal(curve.fpr[0], 0);
  assert.equal(curve.fpr.at(-1), 1);
  assert.equal(curve.pro.at(-1), 1);
  // Every kept point is a point of the exact curve, in order.
  const exact = run(set, 0.3, Infinity).curve;
  let at = 0;
  for (let i = 0; i < curve.fpr.length; i++) {
    while (at < exact.fpr.length && (exact.fpr[at] !== curve.fpr[i] || exact.pro[at] !== curve.pro[i])) at++;
    assert.ok(at < exact.fpr.length, `point ${i} (${curve.fpr[i]}, ${curve.pro[i]}) is on the exact curve`);
  }
  assert.ok(exact.fpr.length > 1000);
});
