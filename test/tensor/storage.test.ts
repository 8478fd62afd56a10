/**
 * Resident tensors (src/tensor/storage.ts) on the wasm backend: where arrays live, when they are
 * freed, and that a training step and inference give bit for bit what they give on the heap.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  allocFloats,
  isResident,
  keep,
  release,
  toHeap,
  withResidentScope,
  setFloatAllocator,
  poisonFreedArrays,
  Tensor,
  conv2d,
} from '../../src/tensor/index.js';
import { initBackend, setBackend, backend, cacheFilters } from '../../src/tensor/kernels/index.js';
import { JsBackend } from '../../src/tensor/kernels/js/conv.js';
import type { WasmBackend } from '../../src/tensor/kernels/wasm/backend.js';
import { resolveConfig } from '../../src/flow/config.js';
import { PyramidFlow } from '../../src/flow/model.js';
import { Adam, OFFICIAL_ADAM } from '../../src/train/optim.js';
import { trainStep } from '../../src/train/trainer.js';
import { computeTemplate, anomalyMaps } from '../../src/detect/inference.js';
import { Random } from '../../src/util/random.js';

let wasm: WasmBackend;
before(async () => {
  wasm = (await initBackend({ kind: 'wasm', threads: 2 })) as WasmBackend;
  poisonFreedArrays(true); // a use after free turns into NaN and fails the comparisons
});
after(() => {
  poisonFreedArrays(false);
  setBackend(new JsBackend());
});

const inUse = (): number => wasm.memoryUse().inUse;

test('arrays are resident only inside a scope, zeroed, and freed when it ends (also on a throw)', () => {
  assert.equal(isResident(allocFloats(8)), false, 'outside a scope: the heap');
  const base = inUse();
  withResidentScope(() => {
    const a = allocFloats(1000, false);
    a.fill(7);
    assert.ok(isResident(a));
    release(a);
    const b = allocFloats(1000); // likely the same block again
    assert.ok(
      b.every((v) => v === 0),
      'zeroed even when the memory is reused',
    );
    assert.ok(inUse() > base);
  });
  assert.equal(inUse(), base, 'all freed at the end');
  assert.throws(
    () =>
      withResidentScope(() => {
        allocFloats(5000);
        throw new Error('boom');
      }),
    /boom/,
  );
  assert.equal(inUse(), base, 'freed when the scope throws');
});

test('keep hands an array to the enclosing scope; toHeap copies out of the outermost', () => {
  const base = inUse();
  const out = withResidentScope(() => {
    const kept = withResidentScope(() => {
      const a = allocFloats(100);
      a[3] = 42;
      allocFloats(100); // not kept
      keep(a);
      return a;
    });
    assert.equal(kept[3], 42, 'still valid after the inner scope');
    assert.throws(() => keep(kept), /outermost/);
    return toHeap(kept);
  });
  assert.equal(out[3], 42);
  assert.equal(isResident(out), false);
  assert.equal(inUse(), base);
});

test('ops on resident tensors give what they give on the heap', () => {
  const r = new Random(3);
  const x = new Tensor([2, 5, 19, 23]),
    w = new Tensor([6, 5, 7, 7]);
  for (const t of [x, w]) for (let i = 0; i < t.size; i++) t.data[i] = r.normal();
  const heap = conv2d(x, w).data;
  const resident = withResidentScope(() => {
    const xr = new Tensor(x.shape);
    xr.data.set(x.data);
    assert.ok(isResident(xr.data));
    return toHeap(conv2d(xr, w).data);
  });
  assert.deepEqual(resident, heap);
  // in place on resident arrays (gradient accumulation)
  const n = 70001,
    u = Float32Array.from({ length: n }, (_, i) => Math.sin(i)),
    v = Float32Array.from({ length: n }, (_, i) => Math.cos(i));
  const sum = Float32Array.from(u, (a, i) => a + v[i]!);
  const got = withResidentScope(() => {
    const a = allocFloats(n, false),
      b = allocFloats(n, false);
    a.set(u);
    b.set(v);
    backend().addInto(a, b, n);
    return toHeap(a);
  });
  assert.deepEqual(got, sum);
});

type RunConfig = Parameters<typeof resolveConfig>[0];

function stepRun(
  saveMemory: boolean,
  options: RunConfig = { channels: 4, kernel: 5, levels: 3, stacks: 1, size: 32 },
): { losses: number[]; params: Float32Array[]; maps: Float32Array[]; running: Float32Array[] } {
  const config = resolveConfig(options);
  const H = config.height,
    W = config.width;
  const model = PyramidFlow.create(config, 1);
  const opt = new Adam(model.parameters(), OFFICIAL_ADAM);
  const r = new Random(2);
  const images = Array.from({ length: 3 }, () => {
    const a = new Float32Array(3 * H * W);
    for (let i = 0; i < a.length; i++) a[i] = r.normal();
    return a;
  });
  const batch = new Tensor([2, 3, H, W]);
  const losses: number[] = [];
  for (let s = 0; s < 3; s++) {
    batch.data.set(images[s % 3]!, 0);
    batch.data.set(images[(s + 1) % 3]!, 3 * H * W);
    losses.push(trainStep(model, opt, batch, saveMemory).loss);
  }
  const template = computeTemplate(model, images.length, (i) => images[i]!, 2);
  const maps = anomalyMaps(model, template, images, 2);
  return {
    losses,
    maps,
    params: model.parameters().map((p) => p.data.slice()),
    running: model.blocks.map((b) => b.affine.runningMean.data.slice()),
  };
}

// the second configuration: odd level sizes (H != W, rows not a multiple of 8), SVN, middle blocks
const CONFIGS: RunConfig[] = [
  { channels: 4, kernel: 5, levels: 3, stacks: 1, size: 32 },
  { channels: 3, kernel: 3, levels: 4, stacks: 1, height: 40, width: 56, volumeNorm: 'svn' },
];
for (const [ci, options] of CONFIGS.entries())
  for (const saveMemory of [false, true]) {
    test(`training steps and inference: resident equals heap bit for bit, nothing leaks (config ${ci}, ${saveMemory ? 'memory saving' : 'plain'})`, () => {
      assert.ok(backend().floatAllocator, 'the wasm backend allocates resident arrays');
      cacheFilters(0);
      const base = inUse();
      const resident = stepRun(saveMemory, options);
      // evaluation keeps filter spectra (when FFT runs) until the cache is turned off
      cacheFilters(0);
      assert.equal(inUse(), base, 'every resident array freed after the steps and inference, and the filter spectra');
      setFloatAllocator(null);
      let plain: ReturnType<typeof stepRun>;
      try {
        plain = stepRun(saveMemory, options);
      } finally {
        setFloatAllocator(wasm.floatAllocator);
      }
      assert.deepEqual(resident.losses, plain.losses);
      resident.params.forEach((p, i) => assert.deepEqual(p, plain.params[i], `parameter ${i}`));
      resident.running.forEach((p, i) => assert.deepEqual(p, plain.running[i], `running mean ${i}`));
      resident.maps.forEach((m, i) => assert.deepEqual(m, plain.maps[i], `map ${i}`));
      assert.ok(resident.losses.every(Number.isFinite));
    });
  }

test('when the backend memory is full, arrays fall back to the heap and everything still works', () => {
  const full = {
    alloc: () => null,
    free: () => {
      throw new Error('nothing to free');
    },
    owns: () => false,
  };
  setFloatAllocator(full);
  try {
    withResidentScope(() => {
      const a = allocFloats(100);
      assert.equal(a.length, 100);
      assert.equal(isResident(a), false);
      release(a); // a heap array: left to the garbage collector
    });
  } finally {
    setFloatAllocator(wasm.floatAllocator);
  }
});
