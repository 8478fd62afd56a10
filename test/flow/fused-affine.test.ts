import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tape, withTape, markLeaf, Tensor } from '../../src/tensor/index.js';
import { PyramidFlow } from '../../src/flow/model.js';
import { resolveConfig } from '../../src/flow/config.js';
import { Random } from '../../src/util/random.js';
import { randomTensor } from '../tensor/gradcheck.js';

// The fused coupling tail must equal the unfused chain of primitive ops, values and gradients,
// for every block kind (down blocks resize scale and shift), both volume norms and both modes.
for (const vn of ['cvn', 'svn'] as const) {
  for (const training of [true, false]) {
    test(`fused affine coupling equals the unfused ops (${vn}, ${training ? 'training' : 'evaluation'})`, () => {
      const m = PyramidFlow.create(resolveConfig({ channels: 3, kernel: 3, levels: 3, stacks: 1, size: 8, volumeNorm: vn }), 2);
      const rng = new Random(9);
      for (const b of m.blocks) {
        for (let i = 0; i < b.affine.conv2.size; i++) b.affine.conv2.data[i] = rng.normal() * 0.3;
        b.affine.runningMean = vn === 'cvn' ? randomTensor([1, 1, b.target === 0 ? 8 : 4, b.target === 0 ? 8 : 4], rng, 0.1) : randomTensor([1, 3, 1, 1], rng, 0.1);
      }
      for (const block of m.blocks) {
        if (!training && block.spec.kind === 'down') block.affine.runningMean = vn === 'cvn' ? randomTensor([1, 1, 4, 4], rng, 0.1) : randomTensor([1, 3, 1, 1], rng, 0.1);
        const mode = { training, updateStats: false };
        const run = (fused: boolean): { y: Float32Array; grads: Float32Array[] } => {
          const levels = [randomTensor([2, 3, 8, 8], new Random(1)), randomTensor([2, 3, 4, 4], new Random(2)), randomTensor([2, 3, 2, 2], new Random(3))].map(markLeaf);
          const params = [block.affine.conv0, block.affine.conv2, block.conv.wL, block.conv.wS, block.conv.wU];
          params.forEach((p) => (p.grad = null));
          const tape = new Tape();
          const y = withTape(tape, () => (fused ? block.forward(levels, mode) : block.forwardUnfused(levels, mode)));
          const seed = Float32Array.from({ length: y.size }, (_, i) => Math.sin(i));
          tape.backward(y, seed);
          return { y: y.data.slice(), grads: [...levels, ...params].map((t: Tensor) => (t.grad ?? new Float32Array(t.size)).slice()) };
        };
        const a = run(true), b = run(false);
        const close = (u: Float32Array, v: Float32Array, what: string): void => {
          let err = 0, mag = 1e-12;
          for (let i = 0; i < u.length; i++) { err = Math.max(err, Math.abs(u[i]! - v[i]!)); mag = Math.max(mag, Math.abs(v[i]!)); }
          assert.ok(err <= 1e-5 * mag, `${block.spec.kind}${block.spec.start} ${what}: ${err} vs ${mag}`);
        };
        close(a.y, b.y, 'output');
        a.grads.forEach((g, i) => close(g, b.grads[i]!, `gradient ${i}`));
      }
    });
  }
}
