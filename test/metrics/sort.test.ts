import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUCKET_COUNT, bitsToKey, bucketStarts, float32ToKey, isNanKey, keyToFloat32, sortBuckets } from '../../src/metrics/sort.js';
import { Random } from '../../src/util/random.js';

test('keys order float32 values numerically, -0 ties with 0, and decode back', () => {
  const values = [-Infinity, -3.3e38, -2, -1, -1e-45, -0, 0, 1e-45, 1e-38, 0.5, 1, 2, 3.3e38, Infinity].map(Math.fround);
  const keys = values.map(float32ToKey);
  for (let i = 1; i < keys.length; i++) {
    if (Object.is(values[i - 1], -0)) assert.equal(keys[i], keys[i - 1], '-0 and 0 share a key');
    else assert.ok(keys[i]! > keys[i - 1]!, `${values[i - 1]} < ${values[i]}`);
  }
  for (const v of values) assert.equal(keyToFloat32(float32ToKey(v)), v + 0);
});

test('NaN bit patterns of either sign, and only they, have NaN keys', () => {
  for (const bits of [0x7fc00000, 0xffc00000, 0x7f800001, 0xff800001, 0x7fffffff, 0xffffffff]) assert.ok(isNanKey(bitsToKey(bits)));
  for (const value of [Infinity, -Infinity, 0, -0, 1, -1, 3.3e38, -3.3e38]) assert.ok(!isNanKey(float32ToKey(value)));
});

test('bucket sort sorts keys and carries the payload with each key', () => {
  const random = new Random(5);
  for (const [n, spread] of [
    [5000, 1],
    [20000, 0.001],
    [3000, 0],
  ] as const) {
    // spread 0 gives one bucket of equal keys; small spreads give large buckets with ties.
    const values = Float32Array.from({ length: n }, () => (spread === 0 ? 0.25 : Math.round(random.normal() * 4000 * spread) / 4000 + 0.3));
    const keys = Uint32Array.from(values, float32ToKey);
    const payload = Uint32Array.from(keys, (_, i) => i);
    const counts = new Int32Array(BUCKET_COUNT);
    for (const k of keys) counts[k >>> 16]!++;
    const starts = bucketStarts(counts);
    // Scatter into buckets as the pixel pipeline does.
    const next = starts.slice();
    const bucketed = new Uint32Array(n);
    const bucketedPayload = new Uint32Array(n);
    keys.forEach((k, i) => {
      const slot = next[k >>> 16]!++;
      bucketed[slot] = k;
      bucketedPayload[slot] = payload[i]!;
    });
    sortBuckets(bucketed, starts, bucketedPayload);
    assert.deepEqual(bucketed, Uint32Array.from(keys).sort());
    for (let i = 0; i < n; i++) assert.equal(keys[bucketedPayload[i]!], bucketed[i], 'payload follows its key');
    assert.deepEqual(Uint32Array.from(bucketedPayload).sort(), payload, 'payload is a permutation');
  }
});
