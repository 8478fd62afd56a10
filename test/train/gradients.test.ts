/**
 * Memory saving's gradients (src/train/gradients.ts) against plain backpropagation's, on a model
 * of several stacks, where the last stack runs under the tape and the others are rebuilt through
 * their inverses: every parameter's gradient and the loss agree to float32 rounding.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig, stackOrder } from '../../src/flow/config.js';
import { PyramidFlow } from '../../src/flow/model.js';
import { keptBlocks, lossGradients } from '../../src/train/gradients.js';
import { KeptWork } from '../../src/flow/invertible.js';
import { Tensor, backend, initBackend, setBackend, poisonFreedArrays } from '../../src/tensor/index.js';
import { Random } from '../../src/util/random.js';

const config = resolveConfig({ channels: 4, kernel: 3, levels: 3, stacks: 3, size: 16 });

/** The loss and every parameter's gradient after one pass in the given mode (a model of fixed random weights). */
function gradients(saveMemory: boolean, keepWork = true): { loss: number; grads: Float32Array[] } {
  const model = PyramidFlow.create(config, 5);
  // Non-zero last convolutions (zero-initialised), so that every block's coupling acts.
  const rng = new Random(11);
  for (const p of model.parameters()) for (let i = 0; i < p.size; i++) p.data[i] = p.data[i]! + 0.05 * rng.normal();
  const images = new Tensor([3, 3, 16, 16]);
  for (let i = 0; i < images.size; i++) images.data[i] = rng.normal();
  for (const p of model.parameters()) p.grad = null;
  const { loss } = lossGradients(model, images, saveMemory, keepWork);
  return { loss, grads: model.parameters().map((p) => (p.grad ? p.grad.slice() : new Float32Array(p.size))) };
}

test('memory saving keeps the last stack under the tape, and only when there are several stacks', () => {
  assert.equal(keptBlocks(config), stackOrder(3).length);
  assert.ok(keptBlocks(config) < PyramidFlow.create(config, 0).flow.length, 'some blocks are still rebuilt');
  assert.equal(keptBlocks({ levels: 4, stacks: 1 }), 0, 'one stack: all of it is rebuilt (or memory saving would save nothing)');
});

for (const keepWork of [true, false]) {
  test(`memory saving (kept last stack, rebuilt others${keepWork ? ', affine outputs kept from the forward' : ''}) gives the gradients of plain backprop`, () => {
    const plain = gradients(false);
    const saving = gradients(true, keepWork);
    assert.ok(Math.abs(plain.loss - saving.loss) <= 1e-6 * Math.abs(plain.loss), `loss ${plain.loss} vs ${saving.loss}`);
    let nonZero = 0;
    plain.grads.forEach((g, i) => {
      const h = saving.grads[i]!;
      let scale = 0,
        err = 0;
      for (let k = 0; k < g.length; k++) {
        scale = Math.max(scale, Math.abs(g[k]!));
        err = Math.max(err, Math.abs(g[k]! - h[k]!));
      }
      if (scale > 0) nonZero++;
      assert.ok(err <= 1e-4 * scale + 1e-9, `parameter ${i}: max difference ${err}, largest gradient ${scale}`);
    });
    assert.ok(nonZero > plain.grads.length / 2, `most parameters have a gradient (${nonZero} of ${plain.grads.length})`);
  });
}

test('KeptWork holds copies within its budget, of arrays up to its largest, each taken once', () => {
  const kept = new KeptWork(40, 16);
  const a = {},
    b = {},
    c = {},
    d = {};
  const values = Float32Array.from([1, 2, 3, 4]);
  assert.equal(kept.offer(a, values), true);
  values[0] = 9; // a copy was kept
  assert.equal(kept.offer(b, new Float32Array(5)), false, 'over the largest');
  assert.equal(kept.offer(c, new Float32Array(4)), true);
  assert.equal(kept.offer(d, new Float32Array(4)), false, 'over the budget');
  assert.deepEqual(kept.take(a), Float32Array.from([1, 2, 3, 4]));
  assert.equal(kept.take(a), undefined, 'taken once');
  assert.equal(kept.offer(d, new Float32Array(4)), true, 'what was taken frees its bytes');
});

test("memory saving in the kernels' memory: the kept affine outputs live through the step, and what they give matches plain backprop", async () => {
  const before = backend();
  await initBackend({ kind: 'wasm', threads: 2 });
  poisonFreedArrays(true); // a kept array freed too early would turn the gradients into NaN
  try {
    const plain = gradients(false);
    const kept = gradients(true, true);
    const again = gradients(true, false);
    assert.ok(Math.abs(plain.loss - kept.loss) <= 1e-6 * Math.abs(plain.loss), `loss ${plain.loss} vs ${kept.loss}`);
    plain.grads.forEach((g, i) => {
      let scale = 0,
        err = 0,
        errAgain = 0;
      for (let k = 0; k < g.length; k++) {
        scale = Math.max(scale, Math.abs(g[k]!));
        err = Math.max(err, Math.abs(g[k]! - kept.grads[i]![k]!));
        errAgain = Math.max(errAgain, Math.abs(g[k]! - again.grads[i]![k]!));
      }
      assert.ok(err <= 1e-4 * scale + 1e-9, `parameter ${i}: max difference ${err}, largest gradient ${scale}`);
      assert.ok(errAgain <= 1e-4 * scale + 1e-9, `parameter ${i} (nothing kept): max difference ${errAgain}`);
    });
  } finally {
    poisonFreedArrays(process.env.PYRAMIDFLOW_POISON_FREED === '1');
    setBackend(before);
  }
});
