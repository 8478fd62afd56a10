import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tape, withTape, markLeaf, noGrad, fusedAffine, type Tensor } from '../../src/tensor/index.js';
import { CLAMP } from '../../src/flow/affine.js';
import { initBackend, setBackend } from '../../src/tensor/kernels/index.js';
import { JsBackend } from '../../src/tensor/kernels/js/conv.js';
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
        b.affine.runningMean =
          vn === 'cvn' ? randomTensor([1, 1, b.target === 0 ? 8 : 4, b.target === 0 ? 8 : 4], rng, 0.1) : randomTensor([1, 3, 1, 1], rng, 0.1);
      }
      for (const block of m.blocks) {
        if (!training && block.spec.kind === 'down')
          block.affine.runningMean = vn === 'cvn' ? randomTensor([1, 1, 4, 4], rng, 0.1) : randomTensor([1, 3, 1, 1], rng, 0.1);
        const mode = { training, updateStats: false };
        const run = (fused: boolean): { y: Float32Array; grads: Float32Array[] } => {
          const levels = [randomTensor([2, 3, 8, 8], new Random(1)), randomTensor([2, 3, 4, 4], new Random(2)), randomTensor([2, 3, 2, 2], new Random(3))].map(
            markLeaf,
          );
          const params = [block.affine.conv0, block.affine.conv2, block.conv.wL, block.conv.wS, block.conv.wU];
          params.forEach((p) => (p.grad = null));
          const tape = new Tape();
          const y = withTape(tape, () => (fused ? block.forward(levels, mode) : block.forwardUnfused(levels, mode)))[block.target]!;
          const seed = Float32Array.from({ length: y.size }, (_, i) => Math.sin(i));
          tape.backward(y, seed);
          return { y: y.data.slice(), grads: [...levels, ...params].map((t: Tensor) => (t.grad ?? new Float32Array(t.size)).slice()) };
        };
        const a = run(true),
          b = run(false);
        const close = (u: Float32Array, v: Float32Array, what: string): void => {
          let err = 0,
            mag = 1e-12;
          for (let i = 0; i < u.length; i++) {
            err = Math.max(err, Math.abs(u[i]! - v[i]!));
            mag = Math.max(mag, Math.abs(v[i]!));
          }
          assert.ok(err <= 1e-5 * mag, `${block.spec.kind}${block.spec.start} ${what}: ${err} vs ${mag}`);
        };
        close(a.y, b.y, 'output');
        a.grads.forEach((g, i) => close(g, b.grads[i]!, `gradient ${i}`));
      }
    });
  }
}

// The fused inverse (memory saving's rebuild, latents to image) must give what the unfused ops
// give (bit for bit on both wasm builds, whose kernels share their arithmetic) and undo the forward.
for (const kind of ['js', 'wasm-simd', 'wasm-relaxed'] as const) {
  test(`fused affine inverse equals the unfused ops bit for bit and undoes the coupling (${kind})`, async (t) => {
    const b = kind === 'js' ? await initBackend({ kind: 'js' }) : await initBackend({ kind: 'wasm', threads: 2, relaxedSimd: kind === 'wasm-relaxed' });
    if (kind === 'wasm-relaxed' && !b.name.includes('relaxed')) {
      t.skip('relaxed SIMD is not available in this runtime');
      return;
    }
    try {
      for (const vn of ['cvn', 'svn'] as const) {
        for (const training of [true, false]) {
          const m = PyramidFlow.create(resolveConfig({ channels: 3, kernel: 3, levels: 3, stacks: 1, size: 16, volumeNorm: vn }), 4);
          const rng = new Random(11);
          for (const block of m.blocks) {
            for (let i = 0; i < block.affine.conv2.size; i++) block.affine.conv2.data[i] = rng.normal() * 0.3;
            const h = 16 >> (block.spec.kind === 'down' ? block.spec.start : block.target);
            block.affine.runningMean = vn === 'cvn' ? randomTensor([1, 1, h, h], rng, 0.1) : randomTensor([1, 3, 1, 1], rng, 0.1);
            const mode = { training, updateStats: false };
            const levels = [randomTensor([2, 3, 16, 16], new Random(5)), randomTensor([2, 3, 8, 8], new Random(6)), randomTensor([2, 3, 4, 4], new Random(7))];
            const after = noGrad(() => block.forward(levels, mode));
            const raw = noGrad(() => block.raw(after));
            const mixed = noGrad(() => block.mix.inverse(after, mode)); // the 1x1 convolution undone
            const fused = noGrad(() => block.uncouple(mixed, raw, mode))[block.target]!.toHost();
            const unfused = noGrad(() => block.uncoupleUnfused(mixed, raw, mode))[block.target]!.toHost();
            const what = `${block.spec.kind}${block.spec.start} ${vn} ${training ? 'training' : 'evaluation'}`;
            if (kind === 'js') {
              // The reference's fused tail keeps s - mean in float64 before exp (the unfused ops round it): an ulp apart.
              let d = 0,
                mag = 1e-12;
              for (let i = 0; i < fused.length; i++) {
                d = Math.max(d, Math.abs(fused[i]! - unfused[i]!));
                mag = Math.max(mag, Math.abs(unfused[i]!));
              }
              assert.ok(d <= 1e-6 * mag, `${what}: fused and unfused inverse differ by ${d}`);
            } else assert.deepEqual(fused, unfused, `${what}: fused and unfused inverse differ`);
            const x = levels[block.target]!.data;
            let err = 0;
            for (let i = 0; i < x.length; i++) err = Math.max(err, Math.abs(fused[i]! - x[i]!));
            assert.ok(err < 1e-4, `${what}: round trip error ${err}`);
          }
        }
      }
    } finally {
      setBackend(new JsBackend());
    }
  });
}

// Memory saving's rebuild records the coupling without recomputing it (coupleKnown): its
// backward must be the coupling's, bit for bit, with the batch mean the inverse found, which
// must be the forward's.
for (const kind of ['js', 'wasm-relaxed'] as const) {
  test(`coupleKnown records the coupling's backward, and the inverse finds the forward's batch mean (${kind})`, async () => {
    const b = kind === 'js' ? await initBackend({ kind: 'js' }) : await initBackend({ kind: 'wasm', threads: 2, relaxedSimd: true });
    try {
      for (const vn of ['cvn', 'svn'] as const) {
        for (const training of [true, false]) {
          const m = PyramidFlow.create(resolveConfig({ channels: 3, kernel: 3, levels: 3, stacks: 1, size: 16, volumeNorm: vn }), 4);
          const affine = m.blocks[0]!.affine;
          const rng = new Random(21);
          affine.runningMean = vn === 'cvn' ? randomTensor([1, 1, 16, 16], rng, 0.1) : randomTensor([1, 3, 1, 1], rng, 0.1);
          const mode = { training, updateStats: false };
          const raw = markLeaf(randomTensor([2, 6, 16, 16], new Random(22)));
          const x = markLeaf(randomTensor([2, 3, 16, 16], new Random(23)));
          const seed = Float32Array.from({ length: x.size }, (_, i) => Math.cos(0.3 * i));
          const grads = (record: () => Tensor): { y: Float32Array; raw: Float32Array; x: Float32Array } => {
            raw.grad = null;
            x.grad = null;
            const tape = new Tape();
            const y = withTape(tape, record);
            tape.backward(y, seed);
            return { y: y.data.slice(), raw: raw.grad!.slice(), x: x.grad!.slice() };
          };
          const taped = grads(() => affine.coupleRaw(raw, x, mode));
          const y = noGrad(() => affine.coupleRaw(raw, x, mode));
          const inverse = noGrad(() => affine.uncoupleRaw(raw, y, mode));
          const what = `${b.name} ${vn} ${training ? 'training' : 'evaluation'}`;
          const forward = noGrad(() => fusedAffine(raw, x, { clamp: CLAMP, volumeNorm: vn, training, runningMean: affine.runningMean }));
          assert.deepEqual(forward.y.data, y.data, `${what}: the coupling`);
          if (training) assert.deepEqual(inverse.batchMean!.data, forward.batchMean!.data, `${what}: batch means`);
          else assert.equal(inverse.batchMean, null);
          const known = grads(() => affine.coupleKnown(raw, x, y, inverse.batchMean, mode));
          assert.deepEqual(known, taped, `${what}: output and gradients`);
        }
      }
    } finally {
      setBackend(new JsBackend());
    }
  });
}
