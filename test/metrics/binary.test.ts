import { test } from 'node:test';
import assert from 'node:assert/strict';
import { f1Max, rocAuc, rocCurve } from '../../src/metrics/binary.js';
import { Random } from '../../src/util/random.js';
import { assertClose, bruteF1Max, bruteRocAuc, bruteRocPoints } from './brute.js';

test('scikit-learn documentation example: AUC 0.75 and its ROC points', () => {
  const scores = [0.1, 0.4, 0.35, 0.8];
  const labels = [0, 0, 1, 1];
  assert.equal(rocAuc(scores, labels), 0.75);
  assert.deepEqual(rocCurve(scores, labels), {
    fpr: [0, 0, 0.5, 0.5, 1],
    tpr: [0, 0.5, 0.5, 1, 1],
    thresholds: [Infinity, 0.8, 0.4, 0.35, 0.1],
  });
});

test('ties count one half, as trapezoids over distinct thresholds', () => {
  assert.equal(rocAuc([1, 1, 0, 0], [1, 0, 1, 0]), 0.5);
  // positives 0.9, 0.5, 0.5 against negatives 0.5, 0.1: (2 + 1.5 + 1.5) / 6
  assert.equal(rocAuc([0.9, 0.5, 0.5, 0.5, 0.1], [1, 1, 1, 0, 0]), 5 / 6);
  assert.deepEqual(rocCurve([0.5, 0.5], [1, 0]), { fpr: [0, 1], tpr: [0, 1], thresholds: [Infinity, 0.5] });
  // -0 and 0 are one score.
  assert.equal(rocAuc([-0, 0], [1, 0]), 0.5);
  assert.ok(Object.is(f1Max([-0], [1]).threshold, 0));
});

test('one class only: AUC NaN, empty curve; F1 NaN without positives; NaN scores throw', () => {
  assert.ok(Number.isNaN(rocAuc([0.1, 0.2], [0, 0])));
  assert.ok(Number.isNaN(rocAuc([0.1, 0.2], [1, 1])));
  assert.ok(Number.isNaN(rocAuc([], [])));
  assert.deepEqual(rocCurve([0.1, 0.2], [0, 0]), { fpr: [], tpr: [], thresholds: [] });
  const none = f1Max([0.1, 0.2], [0, 0]);
  assert.ok(Number.isNaN(none.f1) && Number.isNaN(none.threshold));
  assert.deepEqual(f1Max([0.1, 0.2], [1, 1]), { f1: 1, threshold: 0.1, precision: 1, recall: 1 });
  assert.throws(() => rocAuc([NaN, 1], [0, 1]), RangeError);
  assert.throws(() => rocAuc([1, 2], [0]), RangeError);
});

test('F1 max by hand, the lowest threshold among equal F1 values', () => {
  assert.deepEqual(f1Max([0.9, 0.8, 0.5, 0.4, 0.3, 0.3, 0.2, 0.1], [1, 1, 0, 0, 1, 0, 0, 0]), {
    f1: 0.8,
    threshold: 0.8,
    precision: 1,
    recall: 2 / 3,
  });
  // threshold 4: 1 of 2 found, nothing wrong -> 2/3; threshold 1: both found, 2 wrong -> 2/3.
  assert.deepEqual(f1Max([4, 3, 2, 1], [1, 0, 0, 1]), { f1: 2 / 3, threshold: 1, precision: 0.5, recall: 1 });
  // Infinite scores are ordinary thresholds.
  assert.equal(f1Max([Infinity, -Infinity], [1, 0]).threshold, Infinity);
  assert.equal(rocAuc([-Infinity, -Infinity], [1, 0]), 0.5);
});

test('random scores with many ties agree with brute force', () => {
  const random = new Random(3);
  for (let trial = 0; trial < 60; trial++) {
    const n = 1 + random.int(150);
    const levels = 1 + random.int(12);
    const scores = Array.from({ length: n }, () => random.int(levels) / 4 - 1);
    const labels = Array.from({ length: n }, () => (random.next() < 0.3 ? 1 : 0));
    const auc = rocAuc(scores, labels);
    assertClose(auc, bruteRocAuc(scores, labels), 1e-12, `trial ${trial} AUC`);
    const hasBoth = labels.includes(1) && labels.includes(0);
    const expectedCurve = bruteRocPoints(scores, labels);
    assert.deepEqual(rocCurve(scores, labels), hasBoth ? expectedCurve : { fpr: [], tpr: [], thresholds: [] });
    const f1 = f1Max(scores, labels);
    const expected = bruteF1Max(scores, labels);
    assertClose(f1.f1, expected.f1, 1e-12, `trial ${trial} F1`);
    assert.equal(f1.threshold, expected.threshold);
    assertClose(f1.precision, expected.precision, 1e-12, 'precision');
    assertClose(f1.recall, expected.recall, 1e-12, 'recall');
  }
});

test('thinned ROC curve: at most maxPoints exact points, both ends kept, spread along the curve', () => {
  const random = new Random(9);
  const n = 20000;
  const labels = Array.from({ length: n }, () => (random.next() < 0.2 ? 1 : 0));
  const scores = labels.map((l) => random.normal() + 1.5 * l);
  const exact = rocCurve(scores, labels);
  assert.equal(exact.fpr.length, n + 1);
  const thin = rocCurve(scores, labels, 50);
  assert.ok(thin.fpr.length <= 50 && thin.fpr.length >= 40, `${thin.fpr.length} points`);
  assert.deepEqual([thin.fpr[0], thin.tpr[0]], [0, 0]);
  assert.deepEqual([thin.fpr.at(-1), thin.tpr.at(-1)], [1, 1]);
  const index = new Map(exact.thresholds.map((t, i) => [t, i]));
  for (let k = 0; k < thin.fpr.length; k++) {
    const i = index.get(thin.thresholds[k]!)!;
    assert.equal(thin.fpr[k], exact.fpr[i]);
    assert.equal(thin.tpr[k], exact.tpr[i]);
    // No gap along the curve much wider than an even share of its length 2.
    if (k > 0) assert.ok(thin.fpr[k]! + thin.tpr[k]! - thin.fpr[k - 1]! - thin.tpr[k - 1]! < 2 / 48 + 0.01);
  }
});
