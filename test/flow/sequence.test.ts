/**
 * The chain of blocks as one Invertible (src/flow/sequence.ts): round trips, gradients of both
 * directions against finite differences, memory saving as a property of the composition, and
 * the model running the chain.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tape, markLeaf, noGrad, withTape, backend, setBackend } from '../../src/tensor/index.js';
import { JsBackend } from '../../src/tensor/kernels/js/conv.js';
import { InvertibleSequence } from '../../src/flow/sequence.js';
import { OnLevel, type FlowMode } from '../../src/flow/invertible.js';
import { InvConv1x1 } from '../../src/flow/invconv.js';
import { PyramidFlow } from '../../src/flow/model.js';
import { resolveConfig } from '../../src/flow/config.js';
import { Random } from '../../src/util/random.js';
import { gradCheck, randomTensor } from '../tensor/gradcheck.js';
import { flatten, maxDiff, randomPyramid, smoothModel } from './helpers.js';

const maxLevelDiff = (a: readonly { values(): ArrayLike<number> }[], b: readonly { values(): ArrayLike<number> }[]): number =>
  Math.max(...a.map((t, k) => maxDiff(t.values(), b[k]!.values())));

for (const levels of [2, 3, 4, 5]) {
  for (const vn of ['cvn', 'svn'] as const) {
    test(`the chain (L=${levels}, ${vn}): inverse(forward(z)) = z and forward(inverse(z)) = z, training and evaluation`, () => {
      const m = smoothModel({ channels: 3, kernel: 3, levels, stacks: 2, volumeNorm: vn, height: 16, width: 32 }, levels);
      const z = randomPyramid(2, 3, 16, 32, levels, 20 + levels);
      noGrad(() => m.flow.forward(z, { training: true, updateStats: true })); // running means
      for (const training of [true, false]) {
        const mode: FlowMode = { training, updateStats: false };
        const y = noGrad(() => m.flow.forward(z, mode));
        // float32 rounding grows with the magnitudes the scales reach (up to about 70 here)
        const tol = 1e-5 * Math.max(1, ...y.map((t) => Math.max(...Array.from(t.values(), Math.abs))));
        const e1 = maxLevelDiff(
          noGrad(() => m.flow.inverse(y, mode)),
          z,
        );
        assert.ok(e1 < tol, `training=${training}: inverse(forward): ${e1} (tolerance ${tol})`);
        const w = noGrad(() => m.flow.inverse(z, mode));
        const tol2 = 1e-5 * Math.max(1, ...w.map((t) => Math.max(...Array.from(t.values(), Math.abs))));
        const e2 = maxLevelDiff(
          noGrad(() => m.flow.forward(w, mode)),
          z,
        );
        assert.ok(e2 < tol2, `training=${training}: forward(inverse): ${e2} (tolerance ${tol2})`);
      }
    });
  }
}

for (const training of [true, false]) {
  test(`the chain's gradients, forward and inverse, match finite differences (${training ? 'training' : 'evaluation'})`, () => {
    const m = smoothModel({ channels: 3, kernel: 3, levels: 3, stacks: 1, size: 8 }, 7, 0.8, 0.1);
    const z = randomPyramid(2, 3, 8, 8, 3, 8);
    noGrad(() => m.flow.forward(z, { training: true, updateStats: true }));
    const mode: FlowMode = { training, updateStats: false };
    const params = m.parameters();
    const fwd = gradCheck((inputs) => flatten(m.flow.forward(inputs.slice(0, 3), mode)), [...z, ...params], { probes: 8, eps: 1e-2 });
    fwd.forEach((e, i) => assert.ok(e < 3e-2, `forward, input ${i}: relative error ${e}`));
    const y = noGrad(() => m.flow.forward(z, mode)).map((t) => t.detach());
    const inv = gradCheck((inputs) => flatten(m.flow.inverse(inputs.slice(0, 3), mode)), [...y, ...params], { probes: 8, eps: 1e-2 });
    inv.forEach((e, i) => assert.ok(e < 3e-2, `inverse, input ${i}: relative error ${e}`));
  });
}

/** Gradients of sum(seed_k * out_k) for the parameters and input levels: one tape, then memory saving. */
function plainAndSaving(seq: InvertibleSequence, z: ReturnType<typeof randomPyramid>, mode: FlowMode) {
  const seeds = z.map((t, k) => Float32Array.from({ length: t.size }, (_, i) => Math.cos(0.37 * i + k)));
  const params = seq.namedParameters().map(([, t]) => t);
  params.forEach((p) => (p.grad = null));
  const leaves = z.map((t) => markLeaf(t.detach()));
  const tape = new Tape();
  const out = withTape(tape, () => seq.forward(leaves, mode));
  tape.backwardMany(out, seeds);
  const plain = { params: params.map((p) => p.grad!.slice()), inputs: leaves.map((t) => t.grad!.slice()) };
  params.forEach((p) => (p.grad = null));
  const y = noGrad(() => seq.forward(z, mode));
  const inputs = seq.backwardSavingMemory(y, seeds, mode);
  return { plain, saving: { params: params.map((p) => p.grad!.slice()), inputs } };
}

function assertClose(a: Float32Array[], b: Float32Array[], what: string): void {
  a.forEach((g, i) => {
    const mag = Math.max(1e-12, ...Array.from(b[i]!, Math.abs));
    const err = maxDiff(g, b[i]!);
    assert.ok(err <= 1e-4 * mag, `${what} ${i}: ${err} (magnitude ${mag})`);
  });
}

test('memory saving through the chain of blocks (their own rerun) gives the gradients of plain backprop', () => {
  const m = smoothModel({ channels: 3, kernel: 3, levels: 4, stacks: 2, size: 16, volumeNorm: 'svn' }, 9, 0.01, 0.3);
  const z = randomPyramid(2, 3, 16, 16, 4, 10);
  const { plain, saving } = plainAndSaving(m.flow, z, { training: true, updateStats: false });
  assertClose(saving.params, plain.params, 'parameter');
  assertClose(saving.inputs, plain.inputs, 'input level');
});

test('memory saving through nested sequences and pieces of other kinds (the default rerun by the inverse)', () => {
  const m = smoothModel({ channels: 3, kernel: 3, levels: 3, stacks: 2, size: 8 }, 11, 0.01, 0.3);
  const rng = new Random(12);
  const stacks = [m.flow.slice(0, 3), m.flow.slice(3, 6)];
  const seq = new InvertibleSequence([stacks[0]!, new OnLevel(2, InvConv1x1.init(3, rng)), stacks[1]!]);
  assert.equal(seq.namedParameters()[0]![0], '0.0.affineParams.conv.0.weight');
  assert.equal(seq.namedParameters()[15]![0], '1.w_l');
  const targets = new Set([...stacks.flatMap((st) => st.steps.map((b) => b.target)), 2]); // the blocks' targets and the 1x1 convolution's level
  assert.deepEqual(seq.changes, [...targets].sort());
  assert.equal(new InvertibleSequence([stacks[0]!, { ...new OnLevel(2, InvConv1x1.init(3, rng)), changes: undefined } as never]).changes, undefined);
  const z = randomPyramid(2, 3, 8, 8, 3, 13);
  const mode: FlowMode = { training: true, updateStats: false };
  const back = noGrad(() => seq.inverse(seq.forward(z, mode), mode));
  assert.ok(maxLevelDiff(back, z) < 1e-4);
  const { plain, saving } = plainAndSaving(seq, z, mode);
  assertClose(saving.params, plain.params, 'parameter');
  assertClose(saving.inputs, plain.inputs, 'input level');
});

test('memory saving with a frozen input gives the parameters the gradients of plain backprop, and computes the input gradients plain backprop computes', () => {
  const m = smoothModel({ channels: 3, kernel: 3, levels: 4, stacks: 2, size: 16, volumeNorm: 'cvn' }, 14, 0.01, 0.3);
  const z = randomPyramid(2, 3, 16, 16, 4, 15);
  const mode: FlowMode = { training: true, updateStats: false };
  const seeds = z.map((t, k) => Float32Array.from({ length: t.size }, (_, i) => Math.sin(0.23 * i + k)));
  const params = m.flow.namedParameters().map(([, t]) => t);
  // the JS kernels, counting the convolutions' input gradients
  const counting = new (class extends JsBackend {
    gradInputs = 0;
    override conv2dGradInput(...args: Parameters<JsBackend['conv2dGradInput']>): void {
      this.gradInputs++;
      super.conv2dGradInput(...args);
    }
  })();
  const before = backend();
  setBackend(counting);
  try {
    params.forEach((p) => (p.grad = null));
    const tape = new Tape();
    const out = withTape(tape, () => m.flow.forward(z, mode)); // the input levels are no gradient leaves
    tape.backwardMany(out, seeds);
    const plainCount = counting.gradInputs;
    const plain = params.map((p) => p.grad!.slice());
    const y = noGrad(() => m.flow.forward(z, mode));
    for (const frozen of [true, false]) {
      params.forEach((p) => (p.grad = null));
      counting.gradInputs = 0;
      m.flow.backwardSavingMemory(y, seeds, mode, frozen);
      assertClose(
        params.map((p) => p.grad!),
        plain,
        `parameter (input ${frozen ? 'frozen' : 'not frozen'})`,
      );
      if (frozen) assert.equal(counting.gradInputs, plainCount, 'the input gradients computed, frozen input');
      else assert.ok(counting.gradInputs > plainCount, `${counting.gradInputs} input gradients computed, ${plainCount} by plain backprop`);
    }
  } finally {
    setBackend(before);
  }
});

test('the model: official parameter names in the official order, through the chain', () => {
  const m = PyramidFlow.create(resolveConfig({ channels: 2, kernel: 3, levels: 3, stacks: 2, size: 8 }));
  const per = ['affineParams.conv.0.weight', 'affineParams.conv.2.weight', 'conv1x1.w_l', 'conv1x1.w_s', 'conv1x1.w_u'];
  assert.deepEqual(
    m.namedParameters().map(([n]) => n),
    Array.from({ length: 6 }, (_, i) => per.map((p) => `nf.moduleslst.${i}.${p}`)).flat(),
  );
  assert.deepEqual(
    m.parameters(),
    m.blocks.flatMap((b) => [b.affine.conv0, b.affine.conv2, b.conv.wL, b.conv.wS, b.conv.wU]),
  );
  assert.equal(m.blocks.length, m.flow.length);
});

test('the model runs the chain: forward = input stage then blocks, runBlocks = a slice of it, inverse back to the image', () => {
  const m = smoothModel({ channels: 4, kernel: 3, levels: 3, stacks: 1, size: 8 }, 14, 0.01, 0.3);
  const x = randomTensor([2, 3, 8, 8], new Random(15));
  m.training = false;
  const pyr = m.inputPyramid(x);
  const z = noGrad(() => m.forward(x));
  assert.ok(
    maxLevelDiff(
      z,
      noGrad(() => m.flow.forward(pyr, m.mode())),
    ) === 0,
  );
  let step = pyr;
  for (let i = 0; i < m.blocks.length; i++) step = noGrad(() => m.runBlocks(step, i, i + 1));
  assert.ok(maxLevelDiff(step, z) === 0);
  assert.ok(maxDiff(m.inverse(z).values(), x.values()) < 1e-4);
});
