/**
 * Each coupling block kind as an Invertible (src/flow/coupling.ts): the levels it reads and
 * changes, inverse(forward(z)) = z and forward(inverse(z)) = z, gradients of both directions
 * against finite differences, and memory saving's rerun.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tape, type Tensor, markLeaf, noGrad, withTape } from '../../src/tensor/index.js';
import { CouplingBlock, UpBlock, DownBlock, MiddleBlock, couplingBlock, conditionChannels } from '../../src/flow/coupling.js';
import { blockOrder, type BlockKind } from '../../src/flow/config.js';
import type { FlowMode } from '../../src/flow/invertible.js';
import { gradCheck } from '../tensor/gradcheck.js';
import { flatten, maxDiff, randomPyramid, smoothModel } from './helpers.js';

const CLASSES: Record<BlockKind, typeof UpBlock | typeof DownBlock | typeof MiddleBlock> = { up: UpBlock, down: DownBlock, middle: MiddleBlock };

test('each kind is its own class: target, sources, official name, affine input channels', () => {
  const m = smoothModel({ channels: 3, kernel: 3, levels: 4, stacks: 1, size: 16 });
  const got = m.blocks.map((b) => `${b.kind}${b.start}:${b.target}<-${b.sources.join('+')}:${b.officialName}`);
  assert.deepEqual(got, [
    'middle0:1<-0+2:FlowBlock2(start=0)',
    'down2:3<-2:FlowBlock(start=2, down)',
    'up0:0<-1:FlowBlock(start=0, up)',
    'middle1:2<-1+3:FlowBlock2(start=1)',
  ]);
  for (const b of m.blocks) {
    assert.ok(b instanceof CouplingBlock && b instanceof CLASSES[b.kind], b.officialName);
    assert.deepEqual(b.spec, { kind: b.kind, start: b.start });
    assert.equal(b.affine.conv0.dim(1), conditionChannels(b.spec, 3));
    assert.equal(b.mix.level, b.target);
  }
  const spec = blockOrder({ levels: 4, stacks: 1 })[0]!;
  const b = m.blocks[0]!;
  assert.ok(couplingBlock(spec, b.affine, b.conv) instanceof MiddleBlock);
});

test('a block names its parameters as the official FlowBlock does', () => {
  const b = smoothModel({ channels: 3, kernel: 3, levels: 3, stacks: 1, size: 8 }).blocks[0]!;
  assert.deepEqual(
    b.namedParameters().map(([n]) => n),
    ['affineParams.conv.0.weight', 'affineParams.conv.2.weight', 'conv1x1.w_l', 'conv1x1.w_s', 'conv1x1.w_u'],
  );
  assert.deepEqual(
    b.namedParameters().map(([, t]) => t),
    [b.affine.conv0, b.affine.conv2, b.conv.wL, b.conv.wS, b.conv.wU],
  );
});

/** One block of each kind (levels 3: middle0, up0, down1), running means set by a training forward. */
function blocksOfEachKind(vn: 'cvn' | 'svn'): { blocks: CouplingBlock[]; levels: Tensor[] } {
  const m = smoothModel({ channels: 3, kernel: 3, levels: 3, stacks: 1, size: 8, volumeNorm: vn }, 5);
  const levels = randomPyramid(2, 3, 8, 8, 3, 1);
  noGrad(() => m.blocks.forEach((b) => b.forward(levels, { training: true, updateStats: true })));
  return { blocks: [...m.blocks], levels };
}

for (const kind of ['up', 'down', 'middle'] as const) {
  for (const vn of ['cvn', 'svn'] as const) {
    for (const training of [true, false]) {
      const mode: FlowMode = { training, updateStats: false };
      const what = `${kind} block (${vn}, ${training ? 'training' : 'evaluation'})`;

      test(`${what}: inverse undoes forward and forward undoes inverse; other levels pass through`, () => {
        const { blocks, levels } = blocksOfEachKind(vn);
        const block = blocks.find((b) => b.kind === kind)!;
        const y = noGrad(() => block.forward(levels, mode));
        y.forEach((t, k) => {
          if (k === block.target) assert.notEqual(t, levels[k]);
          else assert.equal(t, levels[k], `level ${k} is passed through, the same tensor`);
        });
        assert.ok(maxDiff(y[block.target]!.values(), levels[block.target]!.values()) > 1e-3, 'the block changes its target');
        const back = noGrad(() => block.inverse(y, mode));
        back.forEach((t, k) => {
          if (k !== block.target) assert.equal(t, y[k]);
        });
        assert.ok(maxDiff(back[block.target]!.values(), levels[block.target]!.values()) < 1e-5);
        const again = noGrad(() => block.forward(block.inverse(levels, mode), mode));
        assert.ok(maxDiff(again[block.target]!.values(), levels[block.target]!.values()) < 1e-5);
        // Under a tape the inverse takes the unfused, differentiable ops: the same values.
        const taped = withTape(new Tape(), () =>
          block.inverse(
            y.map((t) => markLeaf(t.detach())),
            mode,
          ),
        );
        assert.ok(maxDiff(taped[block.target]!.values(), back[block.target]!.values()) < 1e-5);
      });

      test(`${what}: gradients of forward and inverse match finite differences`, () => {
        const { blocks, levels } = blocksOfEachKind(vn);
        const block = blocks.find((b) => b.kind === kind)!;
        const params = block.namedParameters().map(([, t]) => t);
        const fwd = gradCheck((inputs) => flatten(block.forward(inputs.slice(0, 3), mode)), [...levels, ...params], { probes: 12, eps: 1e-2 });
        fwd.forEach((e, i) => assert.ok(e < 3e-2, `forward, input ${i}: relative error ${e}`));
        const y = noGrad(() => block.forward(levels, mode)).map((t) => t.detach());
        const inv = gradCheck((inputs) => flatten(block.inverse(inputs.slice(0, 3), mode)), [...y, ...params], { probes: 12, eps: 1e-2 });
        inv.forEach((e, i) => assert.ok(e < 3e-2, `inverse, input ${i}: relative error ${e}`));
      });
    }
  }

  test(`${kind} block: rerun rebuilds the input and recomputes the output under the tape (memory saving)`, () => {
    const { blocks, levels } = blocksOfEachKind('cvn');
    const block = blocks.find((b) => b.kind === kind)!;
    const mode: FlowMode = { training: true, updateStats: false };
    const y = noGrad(() => block.forward(levels, mode));
    const leaves = y.map((t) => markLeaf(t.detach()));
    const tape = new Tape();
    const { inputs, outputs } = block.rerun(leaves, mode, tape);
    assert.ok(tape.length > 0, 'the recomputation is recorded');
    inputs.forEach((t, k) => {
      if (k === block.target) assert.ok(maxDiff(t.values(), levels[k]!.values()) < 1e-5, 'the rebuilt input');
      else assert.equal(t, leaves[k]);
      assert.equal(t.requiresGrad, true);
    });
    outputs.forEach((t, k) => {
      if (k === block.target) assert.ok(maxDiff(t.values(), y[k]!.values()) < 1e-5, 'the recomputed output');
      else assert.equal(t, inputs[k]);
    });
  });
}
