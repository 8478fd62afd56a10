/**
 * The wasm Fourier-loss kernels (assembly/fftloss.ts) against the float64 JS loops of
 * src/tensor/ops/fft.ts: the loss and its gradient give the same bits, in both builds, on 1 and
 * 2 threads, with the spectra resident (a resident scope, as a training step) or on the heap, on
 * the training size (256 x 256), several planes, non-square planes, the smallest plane (2 x 4),
 * a row-pair block with an odd tail, and a plane holding zeros (spectrum values of modulus 0).
 * The JS loops themselves are checked against the full complex transform and finite
 * differences in test/tensor/ops.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rng, randomArray, wasmBackendFactory } from './helpers.js';
import { Tensor, Tape, markLeaf, setBackend, backend, fftAbsMean, withResidentScope, withTape } from '../../../src/tensor/index.js';
import { JsBackend } from '../../../src/tensor/kernels/js/conv.js';

interface Result {
  loss: number;
  grad: Float32Array;
}

/** The loss of fixed random planes [P, H, W] and its gradient for an upstream gradient of 0.7. */
function run(P: number, H: number, W: number, resident: boolean, zeros = false): Result {
  const x = markLeaf(new Tensor([P, H, W], zeros ? new Float32Array(P * H * W) : randomArray(P * H * W, rng(P * 131 + H * 7 + W), 2)));
  const go = (): Result => {
    const tape = new Tape();
    const y = withTape(tape, () => fftAbsMean(x));
    tape.backward(y, Float32Array.from([0.7]));
    return { loss: y.data[0]!, grad: x.grad!.slice() };
  };
  const r = resident ? withResidentScope(go) : go();
  x.grad = null;
  return r;
}

const CASES: [number, number, number][] = [
  [1, 256, 256], // the default model's loss map
  [3, 16, 32], // several planes, wider than high
  [2, 64, 8], // higher than wide; 32 row pairs: four tasks of 8
  [1, 2, 4], // the smallest plane: one row pair, three columns
  [1, 32, 16], // 16 row pairs: two tasks
  [1, 8, 4], // 4 row pairs, fewer than a task's 8
];

test('the wasm Fourier-loss kernels give the bits of the JS loops (both builds, 1 and 2 threads, resident and not)', async () => {
  assert.equal(backend().fftLossForward, undefined, 'the reference runs on the JS backend (the loops in fft.ts)');
  const ref = CASES.map(([P, H, W]) => run(P, H, W, false));
  const refZeros = run(1, 16, 16, false, true);
  assert.equal(refZeros.loss, 0);
  const make = wasmBackendFactory();
  try {
    for (const relaxedSimd of [false, true]) {
      for (const threads of [1, 2]) {
        const b = await make(threads, relaxedSimd);
        setBackend(b);
        for (const resident of [true, false]) {
          CASES.forEach(([P, H, W], i) => {
            const got = run(P, H, W, resident);
            const what = `${b.name}, ${resident ? 'resident' : 'heap'}, [${P}, ${H}, ${W}]`;
            assert.equal(got.loss, ref[i]!.loss, `loss, ${what}`);
            assert.deepEqual(got.grad, ref[i]!.grad, `gradient, ${what}`);
          });
          assert.deepEqual(run(1, 16, 16, resident, true), refZeros, `zero plane, ${b.name}`);
        }
      }
    }
  } finally {
    setBackend(new JsBackend());
  }
});

test('the wasm Fourier-loss kernels refuse planes that are not powers of two and spectra too short', async () => {
  const make = wasmBackendFactory();
  const b = await make(1, true);
  const tables = (n: number) => ({ rev: new Int32Array(n), cos: new Float64Array(n / 2), sin: new Float64Array(n / 2) });
  const spectra = { re: new Float64Array(4 * 3), im: new Float64Array(4 * 3) };
  const x = new Float32Array(16);
  assert.throws(() => b.fftLossForward(x, 1, 4, 6, { width: tables(6), height: tables(4) }, spectra, new Float64Array(4)), /not a power-of-two plane/);
  assert.throws(
    () => b.fftLossForward(x, 1, 4, 4, { width: tables(4), height: tables(4) }, { re: new Float64Array(5), im: new Float64Array(5) }, new Float64Array(4)),
    /spectra of 5 values/,
  );
  assert.throws(() => b.fftLossForward(x, 1, 4, 4, { width: tables(8), height: tables(4) }, spectra, new Float64Array(4)), /a table for length 8/);
});
