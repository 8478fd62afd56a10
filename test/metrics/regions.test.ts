import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labelRegions } from '../../src/metrics/regions.js';
import { Random } from '../../src/util/random.js';
import { bruteLabel } from './brute.js';

function grid(rows: string[]): { mask: Uint8Array; width: number; height: number } {
  const width = rows[0]!.length;
  const mask = Uint8Array.from(rows.join('').split(''), (c) => (c === '#' ? 1 : 0));
  return { mask, width, height: rows.length };
}

test('diagonal neighbours join under 8-connectivity only', () => {
  const { mask, width, height } = grid(['#..', '.#.', '..#']);
  const eight = labelRegions(mask, width, height, 8);
  assert.equal(eight.count, 1);
  assert.deepEqual(eight.areas, [3]);
  const four = labelRegions(mask, width, height, 4);
  assert.equal(four.count, 3);
  assert.deepEqual(Array.from(four.labels), [1, 0, 0, 0, 2, 0, 0, 0, 3]);
});

test('a U shape is one region although its arms start apart; numbering is raster order', () => {
  const { mask, width, height } = grid(['#.#..#', '#.#..#', '###..#', '......', '.##...']);
  const { labels, count, areas } = labelRegions(mask, width, height, 8);
  assert.equal(count, 3);
  assert.deepEqual(areas, [7, 3, 2]);
  assert.equal(labels[0], 1);
  assert.equal(labels[2], 1); // the right arm, merged through the bottom row
  assert.equal(labels[5], 2);
  assert.equal(labels[4 * width + 1], 3);
});

test('an anti-diagonal (north-east) link merges under 8-connectivity', () => {
  const { mask, width, height } = grid(['..#', '.#.', '#..']);
  assert.equal(labelRegions(mask, width, height, 8).count, 1);
  assert.equal(labelRegions(mask, width, height, 4).count, 3);
});

test('empty and full masks, single rows and columns, nonzero values other than 1', () => {
  assert.deepEqual(labelRegions(new Uint8Array(6), 3, 2, 8), { labels: new Int32Array(6), count: 0, areas: [] });
  const full = labelRegions(new Uint8Array(12).fill(255), 4, 3, 4);
  assert.equal(full.count, 1);
  assert.deepEqual(full.areas, [12]);
  assert.equal(labelRegions(Uint8Array.from([1, 0, 1, 1, 0, 1]), 6, 1, 8).count, 3);
  assert.equal(labelRegions(Uint8Array.from([1, 1, 0, 1]), 1, 4, 8).count, 2);
  assert.throws(() => labelRegions(new Uint8Array(5), 2, 2, 8), RangeError);
});

test('matches a flood fill on random masks, both connectivities', () => {
  const random = new Random(11);
  for (let trial = 0; trial < 200; trial++) {
    const width = 1 + random.int(24);
    const height = 1 + random.int(24);
    const density = random.next();
    const mask = Uint8Array.from({ length: width * height }, () => (random.next() < density ? 1 : 0));
    for (const connectivity of [4, 8] as const) {
      const expected = bruteLabel(mask, width, height, connectivity);
      const { labels, count, areas } = labelRegions(mask, width, height, connectivity);
      assert.deepEqual(labels, expected, `trial ${trial} connectivity ${connectivity}`);
      const expectedCount = Math.max(0, ...expected);
      assert.equal(count, expectedCount);
      const expectedAreas = new Array<number>(expectedCount).fill(0);
      for (const l of expected) if (l) expectedAreas[l - 1]!++;
      assert.deepEqual(areas, expectedAreas);
    }
  }
});
