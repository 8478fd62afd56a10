/**
 * The wasm Adam and sum-of-squares kernels (assembly/optim.ts) against the float64 JS loops of
 * src/train/optim.ts: the same bits, both builds, 1 and 2 threads, parameters of odd sizes (a
 * vector's tail, chunks of the norm across parameters), over several steps (bias corrections
 * change), with gradients large and tiny, clipped and not. Clipping inside the update gives the
 * bits of clipping the gradients first (clipGradNorm), and the chunked norm is the norm.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rng, randomArray } from './helpers.js';
import { Tensor, markLeaf, setBackend, backend } from '../../../src/tensor/index.js';
import { createWasmBackend } from '../../../src/tensor/kernels/wasm/backend.js';
import { JsBackend } from '../../../src/tensor/kernels/js/conv.js';
import { Adam, OFFICIAL_ADAM, clipGradNorm, clipScale, gradNorm } from '../../../src/train/optim.js';

/**
 * Parameters of these sizes (one without a gradient), trained `steps` steps with fixed random
 * gradients, clipped to norm 1 (their norms are about 100; every other step's are below 1)
 * inside the update, or first (clipGradNorm) when `clipFirst`. Returns the state and the norms.
 */
function train(steps: number, clipFirst = false): { w: Float32Array[]; m: Float32Array[]; v: Float32Array[]; norms: number[] } {
  const next = rng(3);
  const sizes = [1, 7, 4096 * 5 + 3, 33, 2];
  const params = sizes.map((n) => markLeaf(new Tensor([n], randomArray(n, next, 0.3))));
  const opt = new Adam(params, OFFICIAL_ADAM);
  const norms: number[] = [];
  for (let s = 0; s < steps; s++) {
    params.forEach((p, i) => {
      p.grad = i === 3 ? null : randomArray(p.size, next, i === 4 ? 1e-6 : s % 2 ? 2e-3 : 2);
    });
    if (clipFirst) {
      norms.push(clipGradNorm(params));
      opt.step();
    } else {
      const norm = gradNorm(params);
      norms.push(norm);
      opt.step(clipScale(norm));
    }
  }
  return { w: params.map((p) => p.toHost()), m: opt.state.m, v: opt.state.v, norms };
}

test('the chunked gradient norm is the norm, and clipping inside the update gives the bits of clipping first (JS loops)', () => {
  const inside = train(4),
    first = train(4, true);
  assert.deepEqual(inside, first);
  assert.ok(inside.norms[0]! > 1 && inside.norms[1]! < 1, `one step clipped, one not: norms ${inside.norms.join(', ')}`);
  const next = rng(5);
  const grads = [randomArray(3, next), randomArray(SUM_LEN, next, 4), randomArray(9000, next, 0.01)];
  const params = grads.map((g) => Object.assign(markLeaf(new Tensor([g.length])), { grad: g }));
  let plain = 0;
  for (const g of grads) for (const v of g) plain += v * v;
  assert.ok(Math.abs(gradNorm(params) - Math.sqrt(plain)) <= 1e-13 * Math.sqrt(plain), 'the norm, summed in one pass');
});

/** Values in the norm test's middle parameter: its chunks straddle the parameters on both sides. */
const SUM_LEN = 8192 * 2 + 100;

test('the wasm Adam step gives the bits of the JS loop (both builds, 1 and 2 threads)', async () => {
  assert.equal(backend().adamStep, undefined, 'the reference runs on the JS backend (the loop in optim.ts)');
  assert.equal(backend().sumOfSquares, undefined);
  const ref = train(4);
  try {
    for (const relaxedSimd of [false, true]) {
      for (const threads of [1, 2]) {
        const b = await createWasmBackend({ threads, relaxedSimd });
        setBackend(b); // (disposes the one before)
        const got = train(4);
        assert.deepEqual(got.norms, ref.norms, `gradient norms, ${b.name}`);
        assert.deepEqual(got.w, ref.w, `weights, ${b.name}`);
        assert.deepEqual(got.m, ref.m, `first moments, ${b.name}`);
        assert.deepEqual(got.v, ref.v, `second moments, ${b.name}`);
      }
    }
  } finally {
    setBackend(new JsBackend());
  }
});
