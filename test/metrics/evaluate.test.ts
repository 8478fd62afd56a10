import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rocCurve } from '../../src/metrics/binary.js';
import { evaluate } from '../../src/metrics/evaluate.js';
import { aupro } from '../../src/metrics/pixel.js';
import type { Metrics } from '../../src/metrics/types.js';
import { Random } from '../../src/util/random.js';
import { assertClose, bruteF1Max, bruteOfficialPro, bruteProCurve, bruteRocAuc, mvtecTrapezoid, randomTestSet } from './brute.js';

test('every field agrees with brute force on random sets of mixed image sizes', () => {
  const random = new Random(30);
  for (let trial = 0; trial < 6; trial++) {
    const set = randomTestSet(random, 3 + random.int(6), () => [2 + random.int(9), 2 + random.int(9)], 4 + random.int(40));
    set.masks[0] = Uint8Array.from(set.maps[0]!, (_, p) => (p === 0 ? 1 : 0)); // at least one region
    set.masks[1] = null; // and one good image
    const fprLimit = [0.3, 0.1, 0.6][trial % 3]!;
    const result = evaluate({ ...set, fprLimit });

    const scores = set.maps.flatMap((map) => Array.from(map));
    const labels = set.maps.flatMap((map, i) => Array.from(map, (_, p) => (set.masks[i]?.[p] ? 1 : 0)));
    const imageScores = set.maps.map((map) => Math.max(...map));
    const imageLabels = set.masks.map((mask) => (mask?.includes(1) ? 1 : 0));
    const pro = bruteProCurve(set);
    const pixelF1 = bruteF1Max(scores, labels);
    const imageF1 = bruteF1Max(imageScores, imageLabels);

    assertClose(result.pixel_auroc, bruteRocAuc(scores, labels), 1e-12, 'pixel AUROC');
    assertClose(result.image_auroc, bruteRocAuc(imageScores, imageLabels), 1e-12, 'image AUROC');
    assertClose(result.aupro, mvtecTrapezoid(pro.fpr, pro.pro, fprLimit) / fprLimit, 1e-12, 'AUPRO');
    assertClose(result.pro_full, bruteOfficialPro(set), 1e-12, 'official PRO');
    assertClose(result.pixel_f1_max, pixelF1.f1, 1e-12, 'pixel F1');
    assert.equal(result.pixel_f1_threshold, pixelF1.threshold);
    assertClose(result.image_f1_max, imageF1.f1, 1e-12, 'image F1');
    assert.equal(result.image_f1_threshold, imageF1.threshold);
    assert.equal(result.aupro_fpr_limit, fprLimit);
    assert.equal(result.images, set.maps.length);
    for (const curve of Object.values(result.curves)) {
      assert.ok(curve.x.length >= 2 && curve.x.length <= 500);
      assert.deepEqual([curve.x[0], curve.y[0], curve.x.at(-1), curve.y.at(-1)], [0, 0, 1, 1]);
    }
  }
});

test('plot curves hold at most ~500 points, all on the exact curves', () => {
  const random = new Random(31);
  const set = randomTestSet(random, 8, () => [60, 40], 3000);
  const { curves } = evaluate(set);
  const labels = set.maps.flatMap((map, i) => Array.from(map, (_, p) => (set.masks[i]?.[p] ? 1 : 0)));
  const roc = rocCurve(
    set.maps.flatMap((map) => Array.from(map)),
    labels,
  );
  const pro = aupro(set.maps, set.masks, set.widths, set.heights, 0.3, Infinity).curve;
  for (const [thin, exactX, exactY] of [
    [curves.pixelRoc, roc.fpr, roc.tpr],
    [curves.pro, pro.fpr, pro.pro],
  ] as const) {
    assert.ok(exactX.length > 1000 && thin.x.length <= 500 && thin.x.length >= 250, `${thin.x.length} of ${exactX.length}`);
    let at = 0;
    for (let i = 0; i < thin.x.length; i++) {
      while (at < exactX.length && (exactX[at] !== thin.x[i] || exactY[at] !== thin.y[i])) at++;
      assert.ok(at < exactX.length, `point ${i} on the exact curve`);
    }
  }
});

test('pixel F1 by hand: best after a run of anomalous pixels with several scores', () => {
  // Descending: .9 a, .8 a, .5, .4, .3 a + .3 (tie), .2, .1 -> best F1 .8 at threshold .8.
  const map = Float32Array.from([0.9, 0.1, 0.2, 0.8, 0.3, 0.4, 0.5, 0.3]);
  const result = evaluate({ maps: [map], masks: [Uint8Array.from([1, 0, 0, 1, 0, 0, 0, 1])], widths: [4], heights: [2] });
  assertClose(result.pixel_f1_max, 0.8, 1e-15, 'pixel F1');
  assert.equal(result.pixel_f1_threshold, Math.fround(0.8));
  assertClose(result.pixel_auroc, 12.5 / 15, 1e-15, 'pixel AUROC');
});

test('has exactly the fields of the API MetricSet plus curves', () => {
  const result = evaluate({
    maps: [Float32Array.from([1, 2]), Float32Array.from([3, 0])],
    masks: [null, Uint8Array.from([1, 0])],
    widths: [2, 1],
    heights: [1, 2],
  });
  const { curves, ...metrics } = result;
  assert.deepEqual(Object.keys(curves).sort(), ['imageRoc', 'pixelRoc', 'pro']);
  const expected: Metrics = {
    pixel_auroc: 1,
    image_auroc: 1,
    aupro: 1,
    aupro_fpr_limit: 0.3,
    pro_full: 2 / 3, // normalised normals 0, 1/3, 2/3: the official curve never reaches FPR 1
    pixel_f1_max: 1,
    pixel_f1_threshold: 3,
    image_f1_max: 1,
    image_f1_threshold: 3,
    images: 2,
  };
  assert.deepEqual(metrics, expected);
});

test('only good images: pixel and image metrics are NaN, curves empty', () => {
  const result = evaluate({
    maps: [Float32Array.from([1, 2]), Float32Array.from([0.5, 0])],
    masks: [null, new Uint8Array(2)],
    widths: [2, 2],
    heights: [1, 1],
  });
  for (const key of ['pixel_auroc', 'image_auroc', 'aupro', 'pro_full', 'pixel_f1_max', 'pixel_f1_threshold', 'image_f1_max'] as const) {
    assert.ok(Number.isNaN(result[key]), key);
  }
  assert.equal(result.images, 2);
  assert.deepEqual(result.curves.pro, { x: [], y: [] });
  assert.deepEqual(result.curves.pixelRoc, { x: [], y: [] });
  const empty = evaluate({ maps: [], masks: [], widths: [], heights: [] });
  assert.equal(empty.images, 0);
  assert.ok(Number.isNaN(empty.pixel_auroc));
});
