/** The input stage as an Invertible (src/flow/input.ts): images as a one-level pyramid to the input pyramid and back. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { InputPyramid } from '../../src/flow/input.js';
import { PyramidFlow } from '../../src/flow/model.js';
import { resolveConfig } from '../../src/flow/config.js';
import { Random } from '../../src/util/random.js';
import { randomTensor } from '../tensor/gradcheck.js';
import { maxDiff } from './helpers.js';

test('the input stage: [image] -> pyramid -> [image], a left inverse (C > 3 channels from 3)', () => {
  const m = PyramidFlow.create(resolveConfig({ channels: 5, kernel: 3, levels: 3, stacks: 1, height: 8, width: 16 }), 3);
  const input: InputPyramid = m.input;
  const x = randomTensor([2, 3, 8, 16], new Random(16));
  const pyr = input.forward([x]);
  assert.deepEqual(
    pyr.map((t) => t.shape),
    [
      [2, 5, 8, 16],
      [2, 5, 4, 8],
      [2, 5, 2, 4],
    ],
  );
  const back = input.inverse(pyr);
  assert.equal(back.length, 1);
  assert.ok(maxDiff(back[0]!.values(), x.values()) < 1e-5);
  assert.deepEqual(input.namedParameters(), []);
  assert.throws(() => input.forward(pyr), /expected one image tensor/);
  assert.throws(() => m.inputPyramid(randomTensor([1, 3, 8, 8], new Random(1))), /expected images \[N, 3, 8, 16\]/);
});
