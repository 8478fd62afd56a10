import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatCount, formatDuration, formatNumber, formatRate, formatTable, jsonLine } from '../../src/cli/format.js';
import { formatModelInfo } from '../../src/cli/model.js';
import type { ModelInfo } from '../../src/api/types.js';

test('tables pad columns: text left, numbers right', () => {
  assert.equal(
    formatTable(
      ['file', 'score'],
      [
        ['a.png', '1.5'],
        ['long-name.png', '10.25'],
      ],
    ),
    ['file           score', '-------------  -----', 'a.png            1.5', 'long-name.png  10.25'].join('\n'),
  );
});

test('durations, numbers, rates and counts read well', () => {
  assert.equal(formatDuration(4.24), '4.2s');
  assert.equal(formatDuration(75), '1m 15s');
  assert.equal(formatDuration(3725), '1h 2m');
  assert.equal(formatDuration(undefined), '?');
  assert.equal(formatNumber(0.123456), '0.1235');
  assert.equal(formatNumber(2e-5), '2.000e-5');
  assert.equal(formatRate(0.007), '0.7%');
  assert.equal(formatRate(0.001), '0.1%');
  assert.equal(formatCount(3, 40), '3 of 40 (7.5%)');
});

test('JSON lines leave typed arrays out', () => {
  assert.equal(jsonLine({ a: 1, map: new Float32Array(3) }), '{"a":1}\n');
});

test('model info names the model a training started from, and only then', () => {
  const m: ModelInfo = {
    file: 'b.pflow',
    formatVersion: 1,
    createdAt: 'now',
    parameters: 1234,
    config: { channels: 4, kernel: 3, levels: 3, stacks: 1, volumeNorm: 'cvn', height: 32, width: 32, downsample: 'maxpool' },
    training: { data: 'd', category: 'c', trainImages: 8, holdoutImages: 1, epochs: 1, epochsDone: 1, steps: 4, seed: 0, augment: 'none', lossPerEpoch: [0.5] },
    thresholds: null,
  };
  assert.doesNotMatch(formatModelInfo(m), /started/);
  const lines = formatModelInfo({ ...m, training: { ...m.training, from: { file: 'a.pflow', epochs: 15 } } }).split('\n');
  assert.equal(lines[3], 'started     from a.pflow (after its 15 epochs)');
  assert.match(lines[2]!, /^training/);
});
