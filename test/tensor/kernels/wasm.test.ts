/**
 * The WebAssembly kernels (both builds, 1 and 2 threads, direct and FFT algorithms) against
 * the plain TypeScript reference, on odd shapes: sizes that are not multiples of the vector
 * width or of the FFT tile, kernel larger than the image, single channels, 33 channels.
 */
import { test } from 'node:test';
import { randomConv, relErr, wasmBackendFactory } from './helpers.js';
import assert from 'node:assert/strict';
import type { ConvShape } from '../../../src/tensor/kernels/backend.js';
import { conv2dRef, conv2dGradInputRef, conv2dGradWeightRef } from '../../../src/tensor/kernels/js/conv.js';
import { createWasmBackend, chooseAlgorithm, chooseTile, type WasmBackend, type ConvAlgorithm } from '../../../src/tensor/kernels/wasm/backend.js';
import { slotCount } from '../../../src/tensor/kernels/wasm/conv-plan.js';

const shape = (batch: number, inChannels: number, outChannels: number, height: number, width: number, kernel: number): ConvShape => ({
  batch,
  inChannels,
  outChannels,
  height,
  width,
  kernel,
});

// [N, C, O, H, W, K]
const SHAPES: ConvShape[] = [
  shape(1, 3, 4, 7, 9, 3),
  shape(1, 3, 2, 7, 9, 1),
  shape(2, 5, 6, 13, 17, 5),
  shape(1, 1, 1, 5, 5, 7), // kernel larger than the image
  shape(1, 2, 3, 1, 1, 3),
  shape(1, 33, 7, 17, 13, 1),
  shape(2, 16, 16, 16, 24, 1), // 1x1 on rows of a multiple of 8: inputs read as they are, output written in place
  shape(1, 5, 6, 8, 16, 1), // the same with output channels not a multiple of 4
  shape(2, 5, 8, 8, 16, 1), // 1x1 channel-mix kernels: an odd channel left over in the weight gradient's pairs
  shape(1, 3, 4, 48, 64, 1), // the same in several pixel chunks, the last one partial
  shape(2, 7, 33, 13, 31, 7),
  shape(1, 2, 3, 31, 5, 3),
  shape(1, 3, 2, 9, 7, 11),
  shape(2, 2, 3, 30, 23, 9),
  // FFT: several tiles per image, sizes that do not divide the tile's valid region (26 for k 7)
  shape(1, 6, 5, 40, 45, 7),
  shape(3, 2, 2, 27, 53, 5),
  shape(2, 9, 10, 53, 27, 7),
  shape(3, 4, 5, 60, 58, 7), // 27 tiles: one task per tile group even with 2 threads
  shape(3, 3, 4, 40, 90, 7), // 8 tiles per image: one job per image, outputs copied meanwhile
  shape(1, 2, 3, 20, 17, 13),
];

interface Case {
  s: ConvShape;
  x: Float32Array;
  w: Float32Array;
  dy: Float32Array;
  y: Float32Array;
  dx: Float32Array;
  dw: Float32Array;
}

/** Random x, w, dy of a shape and the reference kernels' y, dx, dw. */
function makeCase(s: ConvShape, seed: number): Case {
  const { batch: N, inChannels: C, outChannels: O, height: H, width: W, kernel: K } = s;
  const { x, w, dy } = randomConv(s, seed);
  const y = new Float32Array(N * O * H * W),
    dx = new Float32Array(N * C * H * W),
    dw = new Float32Array(O * C * K * K);
  conv2dRef(x, w, s, y);
  conv2dGradInputRef(dy, w, s, dx);
  conv2dGradWeightRef(x, dy, s, dw);
  return { s, x, w, dy, y, dx, dw };
}

const cases: Case[] = SHAPES.map((s, i) => makeCase(s, 1234 + i));

const TOL = 1e-4;

function checkAll(b: WasmBackend, algorithm: ConvAlgorithm, list: Case[] = cases): void {
  b.forceAlgorithm = algorithm;
  try {
    for (const c of list) {
      if (algorithm === 'fft' && c.s.kernel < 3) continue;
      const label = `${b.name} ${algorithm} ${JSON.stringify(c.s)}`;
      assert.equal(b.algorithm('forward', c.s), algorithm, label);
      const y = new Float32Array(c.y.length).fill(NaN);
      b.conv2d(c.x, c.w, c.s, y);
      const ey = relErr(c.y, y);
      assert.ok(ey <= TOL, `conv2d ${label}: relative error ${ey}`);
      const dx = new Float32Array(c.dx.length).fill(NaN);
      b.conv2dGradInput(c.dy, c.w, c.s, dx);
      const ex = relErr(c.dx, dx);
      assert.ok(ex <= TOL, `conv2dGradInput ${label}: relative error ${ex}`);
      const dw = new Float32Array(c.dw.length).fill(NaN);
      b.conv2dGradWeight(c.x, c.dy, c.s, dw);
      const ew = relErr(c.dw, dw);
      assert.ok(ew <= TOL, `conv2dGradWeight ${label}: relative error ${ew}`);
      // both gradients at once (dy transformed once for the two, when both run by FFT)
      const dx2 = new Float32Array(c.dx.length).fill(NaN),
        dw2 = new Float32Array(c.dw.length).fill(NaN);
      b.conv2dBackward(c.x, c.dy, c.w, c.s, dx2, dw2);
      const ex2 = relErr(c.dx, dx2),
        ew2 = relErr(c.dw, dw2);
      assert.ok(ex2 <= TOL && ew2 <= TOL, `conv2dBackward ${label}: relative errors ${ex2} (dx), ${ew2} (dw)`);
    }
  } finally {
    b.forceAlgorithm = undefined;
  }
}

const make = wasmBackendFactory();

for (const relaxed of [false, true]) {
  for (const threads of [1, 2]) {
    test(`wasm ${relaxed ? 'relaxed-simd' : 'simd'} build, ${threads} thread(s): direct and FFT match the reference`, async (t) => {
      const b = await make(threads, relaxed);
      if (relaxed && !b.relaxedSimd) {
        t.skip('relaxed SIMD is not available in this runtime');
        return;
      }
      assert.equal(b.relaxedSimd, relaxed);
      assert.equal(b.threads, threads);
      assert.match(b.name, new RegExp(`^wasm-${relaxed ? 'relaxed-simd(\\+avx2)?' : 'simd'} x${threads}$`));
      checkAll(b, 'direct');
      checkAll(b, 'fft');
    });
  }
}

test('wasm: a larger FFT shape split over 2 threads, repeated calls reuse memory', async () => {
  const c = makeCase(shape(2, 8, 12, 64, 60, 7), 99);
  const b = await make(2, true);
  checkAll(b, 'fft', [c, cases[2]!, c]);
  checkAll(b, 'direct', [c]);
});

test('wasm: every FFT tile size (16, 32, 64) on shapes that do not divide the tile', async () => {
  const b = await make(2, true);
  for (const tile of [16, 32, 64]) {
    b.forceTile = tile;
    checkAll(
      b,
      'fft',
      cases.filter((c) => c.s.kernel <= tile - 3 && c.s.kernel >= 3 && c.s.height * c.s.width <= 3000),
    );
  }
  b.forceTile = undefined;
  // weight gradient over several chunks of tiles (one tile group per chunk)
  b.gradWeightChunkBytes = 1;
  checkAll(
    b,
    'fft',
    cases.filter((c) => c.s.kernel >= 3 && c.s.height * c.s.width >= 1000),
  );
  b.gradWeightChunkBytes = Infinity;
  checkAll(
    b,
    'fft',
    cases.filter((c) => c.s.kernel >= 3 && c.s.height * c.s.width >= 1000),
  );
  // chunks of 2 tile groups, the last one holding fewer tiles than the chunk's arrays have room for
  const c = makeCase(shape(2, 8, 12, 64, 60, 7), 7); // 18 tiles of 32 x 32: 5 tile groups
  b.forceTile = 32;
  const quads = Math.ceil(slotCount(32) / 4);
  b.gradWeightChunkBytes = 2.5 * quads * 4 * (8 * 32 + 64 + 12 * 32 + 64);
  checkAll(b, 'fft', [c]);
  // one chunk of 40 tiles whose spectra (4.2 MB) outgrow the L2 cache: the products touch the next quad ahead
  b.gradWeightChunkBytes = Infinity;
  checkAll(b, 'fft', [makeCase(shape(2, 8, 12, 128, 100, 7), 8)]);
  b.forceTile = undefined;
  // both job structures of the forward-type passes on every shape
  for (const mode of ['fused', 'separate'] as const) {
    b.fftMode = mode;
    checkAll(
      b,
      'fft',
      cases.filter((c) => c.s.height * c.s.width >= 1000),
    );
  }
  b.fftMode = 'auto';
});

test('wasm: filter spectra kept between calls serve only the weights they came from', async () => {
  const b = await make(2, true);
  b.forceAlgorithm = 'fft';
  b.forceTile = 32;
  const c = makeCase(shape(1, 8, 12, 64, 60, 7), 21);
  const w2 = c.w.slice();
  w2[5] = w2[5]! + 1; // one weight changed in place, as an optimizer step would
  const y2 = new Float32Array(c.y.length),
    dx2 = new Float32Array(c.dx.length);
  conv2dRef(c.x, w2, c.s, y2);
  conv2dGradInputRef(c.dy, w2, c.s, dx2);
  try {
    b.cacheFilters(64 << 20);
    const w = c.w.slice();
    for (let round = 0; round < 2; round++) {
      const y = new Float32Array(c.y.length),
        dx = new Float32Array(c.dx.length);
      b.conv2d(c.x, w, c.s, y);
      b.conv2dGradInput(c.dy, w, c.s, dx);
      assert.ok(relErr(c.y, y) <= TOL && relErr(c.dx, dx) <= TOL, `round ${round}`);
      assert.equal(b.cachedFilters, 1); // forward spectra only
    }
    w.set(w2);
    const y = new Float32Array(c.y.length),
      dx = new Float32Array(c.dx.length);
    b.conv2d(c.x, w, c.s, y);
    b.conv2dGradInput(c.dy, w, c.s, dx);
    assert.ok(relErr(y2, y) <= TOL && relErr(dx2, dx) <= TOL, 'after the weights changed');
    assert.equal(b.cachedFilters, 1);
    // a budget for one entry keeps the latest only
    const w3 = w.slice();
    b.cacheFilters(slotCount(32) * 8 * 12 * 8);
    b.conv2d(c.x, w3, c.s, y);
    b.conv2d(c.x, w, c.s, y);
    assert.equal(b.cachedFilters, 1);
    assert.ok(relErr(y2, y) <= TOL);
    b.conv2d(c.x, w3, c.s, y);
    assert.equal(b.cachedFilters, 1);
    assert.ok(relErr(y2, y) <= TOL);
    b.cacheFilters(0);
    assert.equal(b.cachedFilters, 0);
    b.conv2d(c.x, w, c.s, y);
    assert.equal(b.cachedFilters, 0);
    assert.ok(relErr(y2, y) <= TOL);
  } finally {
    b.forceAlgorithm = undefined;
    b.forceTile = undefined;
    b.cacheFilters(0);
  }
});

test('wasm: algorithm choice, errors, dispose', async () => {
  assert.equal(chooseAlgorithm('forward', shape(2, 8, 8, 64, 64, 3)), 'direct');
  assert.equal(chooseAlgorithm('forward', shape(2, 32, 32, 64, 64, 1)), 'direct');
  assert.equal(chooseAlgorithm('forward', shape(1, 1, 1, 5, 5, 7)), 'direct');
  for (const pass of ['forward', 'gradInput', 'gradWeight'] as const) {
    assert.equal(chooseAlgorithm(pass, shape(2, 32, 32, 128, 128, 7)), 'fft');
    assert.equal(chooseAlgorithm(pass, shape(2, 16, 32, 256, 256, 7)), 'fft');
    assert.equal(chooseTile(pass, shape(2, 16, 32, 256, 256, 7)), 32);
    assert.equal(chooseTile(pass, shape(2, 32, 32, 64, 64, 5)), 16);
  }
  const b = await createWasmBackend({ threads: 2 });
  // the benchmarks' ceiling probe: a rate from 1 and from 2 threads
  for (const t of [1, 2]) {
    const r = b.fmaRate(t, 200_000);
    assert.ok(Number.isFinite(r) && r > 1e8, `fmaRate(${t}) = ${r}`);
  }
  assert.throws(() => b.conv2d(new Float32Array(4), new Float32Array(4), shape(1, 1, 1, 2, 2, 2), new Float32Array(4)), /odd/);
  assert.throws(() => b.conv2d(new Float32Array(3), new Float32Array(9), shape(1, 1, 1, 2, 2, 3), new Float32Array(4)), /too short/);
  b.dispose();
  b.dispose();
  assert.throws(() => b.conv2d(new Float32Array(4), new Float32Array(9), shape(1, 1, 1, 2, 2, 3), new Float32Array(4)), /dispose/);
});

test('wasm: the registry installs the wasm backend', async () => {
  const { initBackend, backend, setBackend } = await import('../../../src/tensor/kernels/index.js');
  const { JsBackend } = await import('../../../src/tensor/kernels/js/conv.js');
  const b = await initBackend({ kind: 'wasm', threads: 2 });
  assert.match(b.name, /^wasm-.* x2$/);
  assert.equal(backend(), b);
  const c = cases[0]!;
  const y = new Float32Array(c.y.length);
  backend().conv2d(c.x, c.w, c.s, y);
  assert.ok(relErr(c.y, y) <= TOL);
  setBackend(new JsBackend()); // disposes the wasm one
});
