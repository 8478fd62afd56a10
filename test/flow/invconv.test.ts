/**
 * The invertible 1x1 convolution as a LevelMap, and on one level of a pyramid through OnLevel
 * (src/flow/invertible.ts): round trips, |det W| = 1, gradients against finite differences.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tape, Tensor, markLeaf, noGrad, withTape } from '../../src/tensor/index.js';
import { InvConv1x1 } from '../../src/flow/invconv.js';
import { OnLevel } from '../../src/flow/invertible.js';
import { InvertibleSequence } from '../../src/flow/sequence.js';
import { lu } from '../../src/tensor/linalg.js';
import { Random } from '../../src/util/random.js';
import { gradCheck, randomTensor } from '../tensor/gradcheck.js';
import { flatten, maxDiff, randomPyramid } from './helpers.js';

const mode = { training: true, updateStats: false };

/** A convolution whose parameters moved off their initialisation (so w_s is not all alike). */
function conv(C: number, seed: number): InvConv1x1 {
  const rng = new Random(seed);
  const c = InvConv1x1.init(C, rng);
  for (const p of [c.wL, c.wS, c.wU])
    p.updateHost((w) => {
      for (let i = 0; i < w.length; i++) w[i] += rng.normal() * 0.1;
    });
  return c;
}

test('1x1 convolution: |det W| = 1, W^-1 W = I, inverse(forward(x)) = x and back', () => {
  const c = conv(5, 1);
  const W = Float64Array.from(c.weight().values()),
    Wi = Float64Array.from(c.inverseWeight().values());
  const { u } = lu(W, 5);
  let absDet = 1;
  for (let i = 0; i < 5; i++) absDet *= Math.abs(u[i * 5 + i]!);
  assert.ok(Math.abs(absDet - 1) < 1e-5, `|det W| = ${absDet}`);
  for (let i = 0; i < 5; i++)
    for (let j = 0; j < 5; j++) {
      let s = 0;
      for (let k = 0; k < 5; k++) s += Wi[i * 5 + k]! * W[k * 5 + j]!;
      assert.ok(Math.abs(s - (i === j ? 1 : 0)) < 1e-5);
    }
  const x = randomTensor([2, 5, 4, 6], new Random(2));
  assert.ok(maxDiff(c.inverse(c.forward(x)).values(), x.values()) < 1e-5);
  assert.ok(maxDiff(c.forward(c.inverse(x)).values(), x.values()) < 1e-5);
  assert.deepEqual(
    c.namedParameters().map(([n]) => n),
    ['w_l', 'w_s', 'w_u'],
  );
});

test('1x1 convolution: gradients of forward and inverse (input, w_l, w_s, w_u) match finite differences', () => {
  const c = conv(4, 3);
  const x = randomTensor([2, 4, 3, 3], new Random(4));
  const fwd = gradCheck(([x, wL, wS, wU]) => new InvConv1x1(wL!, wS!, wU!, c.perm, c.sign).forward(x!), [x, c.wL, c.wS, c.wU], { eps: 1e-2 });
  fwd.forEach((e, i) => assert.ok(e < 2e-2, `forward, input ${i}: relative error ${e}`));
  const inv = gradCheck(([y, wL, wS, wU]) => new InvConv1x1(wL!, wS!, wU!, c.perm, c.sign).inverse(y!), [x, c.wL, c.wS, c.wU], { eps: 1e-2 });
  inv.forEach((e, i) => assert.ok(e < 2e-2, `inverse, input ${i}: relative error ${e}`));
});

test('1x1 convolution: forwardKnown records forward with the output given (same output values, same gradients); a wrong shape is refused', () => {
  const c = conv(4, 7);
  const x = markLeaf(randomTensor([2, 4, 5, 3], new Random(8)));
  const seed = Float32Array.from({ length: x.size }, (_, i) => Math.sin(0.7 * i));
  const run = (record: () => Tensor): Float32Array[] => {
    for (const t of [x, c.wL, c.wS, c.wU]) t.grad = null;
    const tape = new Tape();
    const y = withTape(tape, record);
    tape.backward(y, seed);
    return [y.data.slice(), ...[x, c.wL, c.wS, c.wU].map((t) => t.grad!.slice())];
  };
  const computed = run(() => c.forward(x));
  const y = noGrad(() => c.forward(x));
  assert.deepEqual(
    run(() => c.forwardKnown(x, y)),
    computed,
  );
  assert.throws(() => c.forwardKnown(x, randomTensor([2, 4, 5, 4], new Random(9))), /known output \[2, 4, 5, 4\] for \[2, 4, 5, 3\]/);
});

test('OnLevel: the convolution changes one level of a pyramid, invertibly, with gradients', () => {
  const c = conv(3, 5);
  const piece = new OnLevel(1, c);
  const z = randomPyramid(2, 3, 8, 8, 3, 6);
  const y = noGrad(() => piece.forward(z, mode));
  assert.equal(y[0], z[0]);
  assert.equal(y[2], z[2]);
  assert.ok(maxDiff(y[1]!.values(), z[1]!.values()) > 1e-3);
  const back = noGrad(() => piece.inverse(y, mode));
  assert.ok(maxDiff(back[1]!.values(), z[1]!.values()) < 1e-5);
  const errs = gradCheck((inputs) => flatten(piece.forward(inputs.slice(0, 3), mode)), [...z, c.wL, c.wS, c.wU], { probes: 20, eps: 1e-2 });
  errs.forEach((e, i) => assert.ok(e < 2e-2, `input ${i}: relative error ${e}`));
});

test('OnLevel pieces in a sequence: memory saving through the default rerun (by the inverse) equals plain backprop', () => {
  const convs = [conv(3, 7), conv(3, 8), conv(3, 9)];
  const seq = new InvertibleSequence([new OnLevel(0, convs[0]!), new OnLevel(2, convs[1]!), new OnLevel(0, convs[2]!)]);
  const z = randomPyramid(2, 3, 8, 8, 3, 10);
  const seeds = z.map((t, k) => Float32Array.from({ length: t.size }, (_, i) => Math.sin(i + k)));
  const params = seq.namedParameters().map(([, t]) => t);
  assert.deepEqual(
    seq.namedParameters().map(([n]) => n),
    ['0.w_l', '0.w_s', '0.w_u', '1.w_l', '1.w_s', '1.w_u', '2.w_l', '2.w_s', '2.w_u'],
  );

  // plain: one tape over the whole sequence, seeded at every output level
  params.forEach((p) => (p.grad = null));
  const leaves = z.map((t) => markLeaf(t.detach()));
  const tape = new Tape();
  const out = withTape(tape, () => seq.forward(leaves, mode));
  tape.backwardMany(out, seeds);
  const plain = { params: params.map((p) => p.grad!.slice()), inputs: leaves.map((t) => t.grad!.slice()) };

  params.forEach((p) => (p.grad = null));
  const y = noGrad(() => seq.forward(z, mode));
  const inputGrads = seq.backwardSavingMemory(
    y,
    seeds.map((s) => s.slice()),
    mode,
  );
  params.forEach((p, i) => assert.ok(maxDiff(p.grad!, plain.params[i]!) < 1e-5, `parameter ${i}`));
  inputGrads.forEach((g, k) => assert.ok(maxDiff(g, plain.inputs[k]!) < 1e-5, `input level ${k}`));
});

test('Tensor.fromHost adopts the array; the inverse weight is a plain heap tensor', () => {
  const a = new Float32Array([1, 2, 3, 4]);
  const t = Tensor.fromHost([2, 2], a);
  assert.equal(t.values(), a);
  assert.equal(conv(3, 11).inverseWeight().requiresGrad, false);
});
