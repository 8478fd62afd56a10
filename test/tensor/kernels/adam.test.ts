/**
 * The wasm Adam kernel (assembly/optim.ts) against the float64 JS loop of src/train/optim.ts:
 * the same bits, both builds, 1 and 2 threads, parameters of odd sizes (a vector's tail), over
 * several steps (bias corrections change), with gradients large and tiny.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rng, randomArray } from './helpers.js';
import { Tensor, markLeaf, setBackend, backend } from '../../../src/tensor/index.js';
import { createWasmBackend } from '../../../src/tensor/kernels/wasm/backend.js';
import { JsBackend } from '../../../src/tensor/kernels/js/conv.js';
import { Adam, OFFICIAL_ADAM } from '../../../src/train/optim.js';

/** Parameters of these sizes (one without a gradient), trained `steps` steps with fixed random gradients. */
function train(steps: number): { w: Float32Array[]; m: Float32Array[]; v: Float32Array[] } {
  const next = rng(3);
  const sizes = [1, 7, 4096 * 5 + 3, 33, 2];
  const params = sizes.map((n) => markLeaf(new Tensor([n], randomArray(n, next, 0.3))));
  const opt = new Adam(params, OFFICIAL_ADAM);
  for (let s = 0; s < steps; s++) {
    params.forEach((p, i) => {
      p.grad = i === 3 ? null : randomArray(p.size, next, i === 4 ? 1e-6 : 2);
    });
    opt.step();
  }
  return { w: params.map((p) => p.toHost()), m: opt.state.m, v: opt.state.v };
}

test('the wasm Adam step gives the bits of the JS loop (both builds, 1 and 2 threads)', async () => {
  assert.equal(backend().adamStep, undefined, 'the reference runs on the JS backend (the loop in optim.ts)');
  const ref = train(4);
  try {
    for (const relaxedSimd of [false, true]) {
      for (const threads of [1, 2]) {
        const b = await createWasmBackend({ threads, relaxedSimd });
        setBackend(b); // (disposes the one before)
        const got = train(4);
        assert.deepEqual(got.w, ref.w, `weights, ${b.name}`);
        assert.deepEqual(got.m, ref.m, `first moments, ${b.name}`);
        assert.deepEqual(got.v, ref.v, `second moments, ${b.name}`);
      }
    }
  } finally {
    setBackend(new JsBackend());
  }
});
