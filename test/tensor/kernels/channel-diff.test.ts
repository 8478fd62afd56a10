/**
 * The wasm channel-difference kernels (assembly/channel-diff.ts) against the float64 JS loops of
 * src/tensor/ops/reduce.ts: the anomaly map's mean |z - t| over channels and the loss's mean
 * squared pair difference with its gradient give the same bits, in both builds, on 1 and 2
 * threads, resident (in a resident scope, as a training step) or on the heap, on odd sizes (a
 * vector's tail, a task's partial chunk) and with several pairs touching one item.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rng, randomArray } from './helpers.js';
import {
  Tensor,
  Tape,
  markLeaf,
  setBackend,
  backend,
  meanAbsDiffOverChannels,
  pairSquaredDiffMean,
  withResidentScope,
  withTape,
} from '../../../src/tensor/index.js';
import { createWasmBackend } from '../../../src/tensor/kernels/wasm/backend.js';
import { JsBackend } from '../../../src/tensor/kernels/js/conv.js';

interface Result {
  absMean: Float32Array;
  sqMean: Float32Array;
  grad: Float32Array;
}

/** Both ops on fixed random data of shape [N, C, h, w]: forwards, and the gradient of the squares' mean. */
function run(N: number, C: number, h: number, w: number, pairs: [number, number][]): Result {
  const next = rng(N * 1000 + C * 10 + h);
  const z = new Tensor([N, C, h, w], randomArray(N * C * h * w, next, 3));
  const t = new Tensor([1, C, h, w], randomArray(C * h * w, next, 3));
  const a = markLeaf(new Tensor([N, C, h, w], randomArray(N * C * h * w, next, 2)));
  const g = randomArray(pairs.length * h * w, next, 1);
  return withResidentScope(() => {
    const absMean = meanAbsDiffOverChannels(z, t).toHost();
    const tape = new Tape();
    const sq = withTape(tape, () => pairSquaredDiffMean(a, pairs));
    const sqMean = sq.toHost();
    tape.backward(sq, g);
    return { absMean, sqMean, grad: a.grad ? a.grad.slice() : new Float32Array(0) };
  });
}

const CASES: [number, number, number, number, [number, number][]][] = [
  [2, 16, 64, 64, [[0, 1]]],
  [
    3,
    5,
    47,
    45,
    [
      [0, 1],
      [0, 2],
      [1, 2],
    ],
  ], // odd pixel count: a vector's tail; item 0 and 2 in two pairs
  [
    4,
    3,
    50,
    41,
    [
      [2, 0],
      [1, 3],
      [0, 3],
    ],
  ], // 2050 pixels: a partial second chunk
  [1, 7, 1, 1, []],
];

test('the wasm channel-difference kernels give the bits of the JS loops (both builds, 1 and 2 threads)', async () => {
  assert.equal(backend().channelDiffMean, undefined, 'the reference runs on the JS backend (the loops in reduce.ts)');
  const ref = CASES.map(([N, C, h, w, p]) => run(N, C, h, w, p));
  try {
    for (const relaxedSimd of [false, true]) {
      for (const threads of [1, 2]) {
        const b = await createWasmBackend({ threads, relaxedSimd });
        setBackend(b);
        CASES.forEach(([N, C, h, w, p], i) => {
          const got = run(N, C, h, w, p);
          const what = `${b.name}, [${N}, ${C}, ${h}, ${w}], ${p.length} pairs`;
          assert.deepEqual(got.absMean, ref[i]!.absMean, `mean |z - t|, ${what}`);
          assert.deepEqual(got.sqMean, ref[i]!.sqMean, `mean squared pair difference, ${what}`);
          assert.deepEqual(got.grad, ref[i]!.grad, `its gradient, ${what}`);
        });
      }
    }
  } finally {
    setBackend(new JsBackend());
  }
});

test('the channel-difference means are what their definitions say (brute force, JS backend)', () => {
  const [N, C, h, w] = [3, 4, 5, 6];
  const pairs: [number, number][] = [
    [0, 1],
    [2, 0],
  ];
  const next = rng(9);
  const z = new Tensor([N, C, h, w], randomArray(N * C * h * w, next));
  const t = new Tensor([1, C, h, w], randomArray(C * h * w, next));
  const am = meanAbsDiffOverChannels(z, t).toHost();
  const sm = pairSquaredDiffMean(z, pairs).toHost();
  const hw = h * w;
  for (let k = 0; k < hw; k++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let c = 0; c < C; c++) s += Math.abs(z.data[(n * C + c) * hw + k]! - t.data[c * hw + k]!);
      assert.ok(Math.abs(am[n * hw + k]! - s / C) <= 1e-6 * (1 + s / C), `abs mean at item ${n}, pixel ${k}`);
    }
    pairs.forEach(([i, j], p) => {
      let s = 0;
      for (let c = 0; c < C; c++) s += (z.data[(i * C + c) * hw + k]! - z.data[(j * C + c) * hw + k]!) ** 2;
      assert.ok(Math.abs(sm[p * hw + k]! - s / C) <= 1e-6 * (1 + s / C), `squared mean at pair ${p}, pixel ${k}`);
    });
  }
});
