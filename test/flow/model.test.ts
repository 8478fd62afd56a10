import { test } from 'node:test';
import assert from 'node:assert/strict';
import { noGrad } from '../../src/tensor/index.js';
import { PyramidFlow } from '../../src/flow/model.js';
import { resolveConfig, stackOrder, blockOrder } from '../../src/flow/config.js';
import { buildPyramid, composePyramid } from '../../src/flow/pyramid.js';
import { Random } from '../../src/util/random.js';
import { randomTensor } from '../tensor/gradcheck.js';

const maxDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

test('block order matches the official code for L = 2, 3, 4, 8', () => {
  const fmt = (L: number): string =>
    stackOrder(L)
      .map((b) => `${b.kind}${b.start}`)
      .join(',');
  assert.equal(fmt(2), 'down0,up0');
  assert.equal(fmt(3), 'middle0,up0,down1');
  assert.equal(fmt(4), 'middle0,down2,up0,middle1');
  assert.equal(fmt(8), 'middle0,middle2,middle4,down6,up0,middle1,middle3,middle5');
  assert.equal(blockOrder({ levels: 4, stacks: 4 }).length, 16);
});

test('the default model has 1,413,424 parameters', () => {
  const m = PyramidFlow.create(resolveConfig({}));
  assert.equal(m.parameterCount(), 1413424);
});

test('sizes not divisible by 2^(L-1) are refused with a clear message', () => {
  assert.throws(() => resolveConfig({ size: 250, levels: 4 }), /250x250 is not divisible by 2\^\(levels-1\) = 8/);
});

test('per-category defaults: levels and volume norm', () => {
  assert.equal(resolveConfig({}, 'carpet').levels, 8);
  assert.equal(resolveConfig({}, 'carpet').volumeNorm, 'svn');
  assert.equal(resolveConfig({}, 'screw').levels, 2);
  assert.equal(resolveConfig({}, 'wood').volumeNorm, 'cvn');
});

test('pyramid compose inverts build (max pooling and nearest downsampling, non-square)', () => {
  const x = randomTensor([2, 3, 16, 24], new Random(3));
  for (const mode of ['maxpool', 'nearest'] as const) {
    const y = composePyramid(buildPyramid(x, 4, mode));
    assert.ok(maxDiff(y.data, x.data) < 1e-5, mode);
  }
});

/** A model whose last convolutions are not zero, so that every path carries gradient. */
function perturbedModel(opts: Parameters<typeof resolveConfig>[0], seed = 1): PyramidFlow {
  const m = PyramidFlow.create(resolveConfig(opts), seed);
  const rng = new Random(seed + 100);
  for (const b of m.blocks)
    b.affine.conv2.updateHost((w) => {
      for (let i = 0; i < w.length; i++) w[i] = rng.normal() * 0.05;
    });
  return m;
}

for (const levels of [2, 3, 4, 5]) {
  for (const vn of ['cvn', 'svn'] as const) {
    test(`round trip image -> latents -> image (L=${levels}, ${vn}, train and eval)`, () => {
      const m = perturbedModel({ channels: 4, kernel: 3, levels, stacks: 2, volumeNorm: vn, height: 16, width: 32 });
      const x = randomTensor([2, 3, 16, 32], new Random(levels));
      for (const training of [true, false]) {
        m.training = training;
        const z = noGrad(() => m.forward(x));
        const back = m.inverse(z);
        assert.ok(maxDiff(back.data, x.data) < 1e-4, `training=${training}: ${maxDiff(back.data, x.data)}`);
      }
    });
  }
}

// Each block kind alone (round trips, gradients, memory saving's rerun): test/flow/coupling.test.ts;
// the chain of blocks and the input stage: test/flow/sequence.test.ts.
