import { test } from 'node:test';
import assert from 'node:assert/strict';
import { binEdges, histogramCounts, histogramSvg, lineChartSvg, niceTicks, thinCurve } from '../../src/report/charts.js';
import { badness, orderGallery } from '../../src/report/gallery.js';

test('histogram bins sum to the number of (non-NaN) values, outliers clamped into the end bins', () => {
  const values = [0, 0.1, 0.5, 0.99, 1, -3, 7, NaN];
  const counts = histogramCounts(values, 4, 0, 1);
  assert.equal(counts.length, 4);
  assert.equal(
    counts.reduce((a, b) => a + b, 0),
    7,
  );
  assert.deepEqual(counts, [3, 0, 1, 3]);
  assert.deepEqual(binEdges(0, 1, 4), [0, 0.25, 0.5, 0.75, 1]);
});

test('nice ticks are round and cover the range', () => {
  assert.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(-1.3, 2.1, 4), [-1, 0, 1, 2]);
  assert.deepEqual(niceTicks(3, 3), [3]);
});

test('thinning keeps the first and last points and at most the limit', () => {
  const n = 1000;
  const curve = { x: Array.from({ length: n }, (_, i) => i / (n - 1)), y: Array.from({ length: n }, (_, i) => Math.sqrt(i / (n - 1))) };
  const thin = thinCurve(curve, 50);
  assert.equal(thin.x.length, 50);
  assert.equal(thin.x[0], 0);
  assert.equal(thin.x[49], 1);
  assert.equal(thinCurve({ x: [1, 2], y: [3, 4] }, 50).x.length, 2);
});

test('charts are svg elements with their id, escaped titles and a marker', () => {
  const line = lineChartSvg({
    id: 'chart-x',
    title: 'A <b> & c',
    xLabel: 'x',
    yLabel: 'y',
    series: [{ name: 's', x: [0, 1], y: [0, 1], colour: '#000' }],
    markers: [{ x: 0.3, label: 'limit' }],
  });
  assert.match(line, /^<svg id="chart-x"/);
  assert.match(line, /A &lt;b&gt; &amp; c/);
  assert.match(line, /class="marker"/);
  const empty = lineChartSvg({ id: 'e', title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: '', x: [], y: [], colour: '#000' }] });
  assert.match(empty, /no data/);
  const hist = histogramSvg({ id: 'h', title: 't', xLabel: 'x', edges: [0, 1, 2], series: [{ name: 'g', counts: [2, 1], colour: '#00f' }] });
  assert.equal((hist.match(/<rect x=/g) ?? []).length, 2);
});

test('gallery order: misclassified first (missed defects and false alarms), then the rest', () => {
  const items = [
    { label: 1 as const, score: 0.9, name: 'caught defect' },
    { label: 0 as const, score: 0.2, name: 'clean good' },
    { label: 1 as const, score: 0.2, name: 'missed defect' },
    { label: 0 as const, score: 0.7, name: 'false alarm' },
  ];
  assert.deepEqual(
    orderGallery(items, 0.5).map((i) => i.name),
    ['missed defect', 'false alarm', 'clean good', 'caught defect'],
  );
  assert.ok(badness({ label: 1, score: 0.2 }, 0.5) > 0);
  assert.ok(badness({ label: 0, score: 0.2 }, 0.5) < 0);
});
