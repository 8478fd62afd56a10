import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/tensor/index.js';
import { Random } from '../../src/util/random.js';
import { gradCheck, randomTensor } from './gradcheck.js';

const rng = new Random(1);
const TOL = 2e-2; // finite differences in float32 with eps 1e-2

function check(name: string, f: (x: T.Tensor[]) => T.Tensor, inputs: T.Tensor[], tol = TOL, eps?: number): void {
  test(`gradient of ${name} matches finite differences`, () => {
    const errs = gradCheck(f, inputs, { eps, probes: 40 });
    errs.forEach((e, i) => assert.ok(e < tol, `${name}: input ${i} relative error ${e}`));
  });
}

check('add (broadcast)', ([a, b]) => T.add(a!, b!), [randomTensor([2, 3, 4, 5], rng), randomTensor([1, 3, 1, 1], rng)]);
check('sub (broadcast per pixel)', ([a, b]) => T.sub(a!, b!), [randomTensor([2, 3, 4, 5], rng), randomTensor([1, 1, 4, 5], rng)]);
check('mul', ([a, b]) => T.mul(a!, b!), [randomTensor([2, 3, 4, 5], rng), randomTensor([2, 3, 4, 5], rng)]);
check('exp', ([a]) => T.exp(a!), [randomTensor([2, 3, 4, 5], rng, 0.5)]);
check('atan', ([a]) => T.atan(a!), [randomTensor([2, 3, 4, 5], rng)]);
check('softClamp', ([a]) => T.softClamp(a!, 2), [randomTensor([2, 3, 4, 5], rng, 2)]);
check('leakyRelu', ([a]) => T.leakyRelu(a!, 0.01), [randomTensor([2, 3, 4, 5], rng)]);
check('square', ([a]) => T.square(a!), [randomTensor([2, 3, 4, 5], rng)]);
check('meanOver (0,1)', ([a]) => T.meanOver(a!, [0, 1]), [randomTensor([2, 3, 4, 5], rng)]);
check('meanOver (0,2,3)', ([a]) => T.meanOver(a!, [0, 2, 3]), [randomTensor([2, 3, 4, 5], rng)]);
check('concat and slice channels', ([a, b]) => T.sliceChannels(T.concatChannels([a!, b!]), 1, 3), [
  randomTensor([2, 2, 3, 3], rng),
  randomTensor([2, 3, 3, 3], rng),
]);
check(
  'pairSquaredDiff',
  ([a]) =>
    T.pairSquaredDiff(a!, [
      [0, 1],
      [0, 2],
      [1, 2],
    ]),
  [randomTensor([3, 2, 4, 4], rng)],
);
check('blur', ([a]) => T.blur(a!), [randomTensor([2, 2, 7, 9], rng)]);
check('maxPool2', ([a]) => T.maxPool2(a!), [randomTensor([2, 2, 6, 8], rng)], TOL, 1e-3);
check('nearest up', ([a]) => T.nearest(a!, 8, 10), [randomTensor([1, 2, 4, 5], rng)]);
check('nearest down', ([a]) => T.nearest(a!, 3, 4), [randomTensor([1, 2, 6, 8], rng)]);
check('conv2d k3', ([x, w]) => T.conv2d(x!, w!), [randomTensor([2, 3, 6, 7], rng), randomTensor([4, 3, 3, 3], rng)]);
check('conv2d k5', ([x, w]) => T.conv2d(x!, w!), [randomTensor([1, 2, 5, 9], rng), randomTensor([3, 2, 5, 5], rng)]);
check('conv2dLeaky k3', ([x, w]) => T.conv2dLeaky(x!, w!, 0.2), [randomTensor([2, 3, 6, 7], rng), randomTensor([4, 3, 3, 3], rng)], TOL, 1e-3);
check('channelMix', ([x, m]) => T.channelMix(x!, m!), [randomTensor([2, 3, 4, 4], rng), randomTensor([5, 3], rng)]);
check('div', ([a, b]) => T.div(a!, b!), [
  randomTensor([2, 3, 4, 5], rng),
  T.Tensor.from(
    [2, 3, 4, 5],
    Array.from({ length: 120 }, () => (rng.uniform(0, 1) < 0.5 ? -1 : 1) * rng.uniform(0.5, 2)),
  ),
]);
check('meanAbsDiffOverChannels', ([z, t]) => T.meanAbsDiffOverChannels(z!, t!), [randomTensor([2, 3, 4, 5], rng), randomTensor([1, 3, 4, 5], rng)], TOL, 1e-3);
check('fftAbsMean (power of two)', ([x]) => T.fftAbsMean(x!), [randomTensor([2, 8, 8], rng)]);
check('fftAbsMean (Bluestein)', ([x]) => T.fftAbsMean(x!), [randomTensor([1, 6, 10], rng)]);

const PAIRS3: [number, number][] = [
  [0, 1],
  [0, 2],
  [1, 2],
];
check('pairSquaredDiffMean', ([a]) => T.pairSquaredDiffMean(a!, PAIRS3), [randomTensor([3, 2, 4, 4], rng)]);

test('pairSquaredDiffMean gives the bits of meanOver(pairSquaredDiff), forward and backward', () => {
  const a = randomTensor([3, 5, 6, 7], rng);
  const g = randomTensor([3, 1, 6, 7], rng).data;
  const run = (f: (x: T.Tensor) => T.Tensor): [Float32Array, Float32Array] => {
    const x = T.markLeaf(T.Tensor.from(a.shape, a.data));
    const tape = new T.Tape();
    const y = T.withTape(tape, () => f(x));
    tape.backward(y, g);
    return [y.data.slice(), x.grad!.slice()];
  };
  const [y1, g1] = run((x) => T.pairSquaredDiffMean(x, PAIRS3));
  const [y0, g0] = run((x) => T.meanOver(T.pairSquaredDiff(x, PAIRS3), [1]));
  assert.deepEqual(y1, y0);
  assert.deepEqual(g1, g0);
});

test('fftAbsMean on power-of-two planes (real-input path) equals the full complex transform, value and gradient', () => {
  for (const [P, H, W] of [
    [2, 16, 8],
    [1, 2, 4],
    [1, 8, 32],
  ] as const) {
    const x = T.markLeaf(randomTensor([P, H, W], rng));
    const g = 0.7;
    const tape = new T.Tape();
    const y = T.withTape(tape, () => T.fftAbsMean(x));
    tape.backward(y, Float32Array.from([g]));
    let total = 0;
    const grad = new Float64Array(P * H * W);
    for (let p = 0; p < P; p++) {
      const re = new Float64Array(H * W),
        im = new Float64Array(H * W);
      for (let i = 0; i < H * W; i++) re[i] = x.data[p * H * W + i]!;
      T.fft2InPlace(re, im, H, W, -1);
      for (let i = 0; i < H * W; i++) {
        const m = Math.hypot(re[i]!, im[i]!);
        total += m;
        re[i] = m > 0 ? re[i]! / m : 0;
        im[i] = m > 0 ? im[i]! / m : 0;
      }
      T.fft2InPlace(re, im, H, W, 1);
      for (let i = 0; i < H * W; i++) grad[p * H * W + i] = (g / (P * H * W)) * re[i]!;
    }
    assert.ok(Math.abs(y.data[0]! - total / (P * H * W)) <= 1e-6 * Math.abs(total / (P * H * W)), `loss ${P}x${H}x${W}`);
    const gmax = Math.max(...grad.map(Math.abs));
    grad.forEach((v, i) => assert.ok(Math.abs(x.grad![i]! - v) <= 1e-6 * gmax, `gradient ${i} of ${P}x${H}x${W}`));
  }
});

test('fft2 matches a direct DFT on a non-power-of-two size', () => {
  const H = 5,
    W = 6;
  const x = Array.from({ length: H * W }, () => rng.normal());
  const re = Float64Array.from(x),
    im = new Float64Array(H * W);
  T.fft2InPlace(re, im, H, W, -1);
  for (let u = 0; u < H; u++)
    for (let v = 0; v < W; v++) {
      let sr = 0,
        si = 0;
      for (let h = 0; h < H; h++)
        for (let w = 0; w < W; w++) {
          const a = -2 * Math.PI * ((u * h) / H + (v * w) / W);
          sr += x[h * W + w]! * Math.cos(a);
          si += x[h * W + w]! * Math.sin(a);
        }
      assert.ok(Math.abs(sr - re[u * W + v]!) < 1e-9 && Math.abs(si - im[u * W + v]!) < 1e-9, `DFT at ${u},${v}`);
    }
});

test('blur equals the depthwise 5x5 cross-correlation with outer(b,b)/256', () => {
  const x = randomTensor([1, 1, 6, 7], rng);
  const y = T.blur(x);
  const b = [1, 4, 6, 4, 1];
  for (let h = 0; h < 6; h++)
    for (let w = 0; w < 7; w++) {
      let s = 0;
      for (let a = 0; a < 5; a++)
        for (let c = 0; c < 5; c++) {
          const hh = h + a - 2,
            ww = w + c - 2;
          if (hh >= 0 && hh < 6 && ww >= 0 && ww < 7) s += ((b[a]! * b[c]!) / 256) * x.data[hh * 7 + ww]!;
        }
      assert.ok(Math.abs(s - y.data[h * 7 + w]!) < 1e-6);
    }
});

test('shape errors are clear', () => {
  assert.throws(() => T.add(T.Tensor.zeros([2, 3]), T.Tensor.zeros([3, 2])), /cannot broadcast \[3, 2\] to \[2, 3\]/);
  assert.throws(() => T.conv2d(T.Tensor.zeros([1, 2, 4, 4]), T.Tensor.zeros([1, 3, 3, 3])), /input has 2 channels, weights expect 3/);
  assert.throws(() => T.maxPool2(T.Tensor.zeros([1, 1, 3, 4])), /not even/);
});

test('div, movingAverage and meanAbsDiffOverChannels compute what they say', () => {
  const a = T.Tensor.from([1, 1, 1, 3], [1, 2, 3]),
    b = T.Tensor.from([1, 1, 1, 3], [2, 4, -8]);
  assert.deepEqual(Array.from(T.div(a, b).values()), [0.5, 0.5, -0.375]);
  assert.throws(() => T.div(a, T.Tensor.zeros([3])), /div: shapes \[1, 1, 1, 3\] and \[3\] differ/);
  // a scalar running mean takes the batch mean's shape; float64 arithmetic, rounded once
  const next = T.movingAverage(T.Tensor.from([1, 1, 1, 1], [0]), b, 0.1);
  assert.deepEqual(next.shape, [1, 1, 1, 3]);
  assert.deepEqual(Array.from(next.values()), [0.2, 0.4, -0.8].map(Math.fround));
  const again = T.movingAverage(next, a, 0.1);
  assert.deepEqual(
    Array.from(again.values()),
    [0, 1, 2].map((i) => Math.fround(0.9 * next.values()[i]! + 0.1 * a.values()[i]!)),
  );
  assert.throws(() => T.movingAverage(T.Tensor.zeros([2]), b, 0.1), /movingAverage/);
  const z = T.Tensor.from([2, 2, 1, 1], [1, -1, 3, 0]),
    t = T.Tensor.from([1, 2, 1, 1], [0, 1]);
  assert.deepEqual(Array.from(T.meanAbsDiffOverChannels(z, t).values()), [1.5, 2]);
  assert.throws(() => T.meanAbsDiffOverChannels(z, T.Tensor.zeros([1, 3, 1, 1])), /does not match/);
});
