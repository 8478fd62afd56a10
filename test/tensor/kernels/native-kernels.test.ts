/**
 * The native kernels (native/: the FFT convolutions' products and 2D transforms;
 * src/tensor/kernels/wasm/native-kernels.ts) against the relaxed-SIMD build's own loops: every
 * FFT pass (forward, gradient of input, gradient of weights, both gradients at once) gives the
 * same bits with and without them, on every tile size (16, 32, 64), both job structures, the
 * weight gradient in one chunk and in many (accumulating), odd channel counts (a lone output
 * pair, a lone input channel), 1 and 2 threads (the worker runs them too), and with the switch
 * turned off and on again. The relaxed build itself is checked against the JS reference in
 * wasm.test.ts (which runs with the native kernels where they load, and without). Also: the
 * addon refuses arrays outside the memory and bad arguments, and PYRAMIDFLOW_NATIVE=0 turns it
 * off.
 *
 * Without the built addon (`npm run build:native`) or AVX2 these tests are skipped with a
 * reason, except under CI, where .ci/run builds it and they must run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomConv, wasmBackendFactory } from './helpers.js';
import type { ConvShape } from '../../../src/tensor/kernels/backend.js';
import type { WasmBackend } from '../../../src/tensor/kernels/wasm/backend.js';
import { nodePlatform } from '../../../src/tensor/kernels/wasm/platform.js';
import { NATIVE_KERNELS_VERSION } from '../../../src/tensor/kernels/wasm/native-kernels.js';

const make = wasmBackendFactory();
const platform = await nodePlatform();
const addon = platform.loadNativeKernels?.();
const skip = addon || process.env.CI ? false : 'the native kernels are not built (npm run build:native) or this processor lacks AVX2 + FMA: SKIPPED';
if (skip) console.log(`# ${skip}`);

function shape(batch: number, inChannels: number, outChannels: number, height: number, width: number, kernel: number): ConvShape {
  return { batch, inChannels, outChannels, height, width, kernel };
}

/** y, dx, dw, and dx, dw of the fused backward, of one shape on one backend (FFT forced). */
function passes(b: WasmBackend, s: ConvShape, seed: number): Float32Array[] {
  const { batch: N, inChannels: C, outChannels: O, height: H, width: W, kernel: K } = s;
  const { x, w, dy } = randomConv(s, seed);
  const y = new Float32Array(N * O * H * W),
    dx = new Float32Array(N * C * H * W),
    dw = new Float32Array(O * C * K * K),
    dx2 = new Float32Array(dx.length),
    dw2 = new Float32Array(dw.length),
    yLeaky = new Float32Array(y.length),
    dx3 = new Float32Array(dx.length),
    dw3 = new Float32Array(dw.length);
  b.forceAlgorithm = 'fft';
  try {
    b.conv2d(x, w, s, y);
    b.conv2dGradInput(dy, w, s, dx);
    b.conv2dGradWeight(x, dy, s, dw);
    b.conv2dBackward(x, dy, w, s, dx2, dw2);
    // with a LeakyReLU after it (fused into the output's store and the gradient's gather)
    b.conv2d(x, w, s, yLeaky, LEAKY);
    b.conv2dBackward(x, dy, w, s, dx3, dw3, { output: yLeaky, slope: LEAKY });
  } finally {
    b.forceAlgorithm = undefined;
  }
  return [y, dx, dw, dx2, dw2, yLeaky, dx3, dw3];
}

/** A slope large enough that its products are not mostly tiny. */
const LEAKY = 0.3;

const SHAPES = [
  shape(2, 16, 32, 64, 64, 7), // the model's shape: 16 output pairs, 5 blocks of 3 and one of 1
  shape(1, 3, 5, 45, 37, 7), // odd channels: an output pair padded, a lone input channel
  shape(2, 9, 10, 53, 27, 7),
  shape(1, 1, 2, 30, 30, 5),
  shape(2, 6, 10, 150, 150, 7), // 36 tiles an image: fused and backward tasks take tile groups in pairs (convProductsPair)
];

/** Sets one variant of the FFT jobs on a backend. */
type Variant = { label: string; set(b: WasmBackend): void };
const VARIANTS: Variant[] = [
  {
    label: 'default',
    set: (b) => {
      b.forceTile = undefined;
      b.fftMode = 'auto';
      b.gradWeightChunkBytes = 16 << 20;
    },
  },
  ...[16, 32, 64].map((tile) => ({ label: `tile ${tile}`, set: (b: WasmBackend) => void (b.forceTile = tile) })),
  { label: 'separate jobs', set: (b) => void (b.fftMode = 'separate') },
  { label: 'fused jobs', set: (b) => void (b.fftMode = 'fused') },
  // one tile group per chunk: the weight-gradient products accumulate into earlier chunks' sums
  { label: 'many chunks', set: (b) => void (b.gradWeightChunkBytes = 1) },
];

const NAMES = [
  'conv2d',
  'conv2dGradInput',
  'conv2dGradWeight',
  'conv2dBackward dx',
  'conv2dBackward dw',
  'conv2d leaky',
  'conv2dBackward leaky dx',
  'conv2dBackward leaky dw',
];

for (const threads of [1, 2]) {
  test(`native kernels, ${threads} thread(s): the same bits as the relaxed-SIMD build's own loops`, { skip }, async () => {
    const native = await make(threads, true, true);
    const plain = await make(threads, true, false);
    assert.ok(native.relaxedSimd && native.nativeKernels, `native kernels did not load: ${native.name}`);
    assert.equal(native.name, `wasm-relaxed-simd+avx2 x${threads}`);
    assert.equal(plain.nativeKernels, false);
    assert.equal(plain.name, `wasm-relaxed-simd x${threads}`);
    // the switch of a backend with native code: off and on again between calls
    native.nativeKernels = false;
    assert.equal(native.name, `wasm-relaxed-simd x${threads}`);
    const off = passes(native, SHAPES[0]!, 7);
    native.nativeKernels = true;
    const on = passes(native, SHAPES[0]!, 7);
    for (let k = 0; k < on.length; k++) assert.ok(Buffer.from(on[k]!.buffer).equals(Buffer.from(off[k]!.buffer)), `${NAMES[k]}: switched off and on differ`);
    assert.throws(() => {
      plain.nativeKernels = true;
    }, /no native code is loaded/);
    let compared = 0;
    for (const variant of VARIANTS) {
      variant.set(native);
      variant.set(plain);
      for (const [i, s] of SHAPES.entries()) {
        if (native.forceTile !== undefined && s.kernel > native.forceTile - 3) continue;
        const a = passes(native, s, 100 + i);
        const b = passes(plain, s, 100 + i);
        for (let k = 0; k < a.length; k++) {
          const label = `${NAMES[k]}, ${variant.label}, ${JSON.stringify(s)}`;
          assert.ok(
            a[k]!.every((v) => Number.isFinite(v)),
            `${label}: not finite`,
          );
          assert.ok(Buffer.from(a[k]!.buffer).equals(Buffer.from(b[k]!.buffer)), `${label}: native and wasm kernels differ`);
          compared++;
        }
      }
    }
    assert.ok(compared >= 100, `only ${compared} outputs compared`);
    // the workers ran them too (each thread instance turns them on for itself)
    if (threads === 2) assert.ok(addon!.kernels.threadsUsed() >= 2, `native kernels ran on ${addon!.kernels.threadsUsed()} thread(s)`);
  });
}

test('native kernels: arrays outside the memory and bad arguments are refused, not run', { skip }, () => {
  assert.ok(addon);
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 16, shared: true });
  const { convProducts, convProductsPair, gradWProducts, fwd2d, inv2d, gatherFwd2d, inv2dScatter, storeQuads } = addon.kernels.bind(
    new Uint8Array(memory.buffer),
  );
  const bytes = memory.buffer.byteLength;
  const pages = bytes / 65536; // the kernels pass the memory's size in pages
  // F=1, R=1, Lq=2: x (32 bytes) at 0, the filter pair (16) at 64, 2 outputs (64) at 128
  const f = new Float32Array(memory.buffer);
  f.set([1, 2, 3, 4, 5, 6, 7, 8], 0);
  f.set([2, 0, 0, 1], 16);
  convProducts(0, 64, 128, 1, 1, 2, 0, 2, pages);
  // (x) * 2 and (x) * i: re -xi, im xr
  assert.deepEqual(Array.from(f.subarray(32, 48)), [2, 4, 6, 8, 10, 12, 14, 16, -5, -6, -7, -8, 1, 2, 3, 4]);
  assert.throws(() => convProducts(0, 64, bytes - 32, 1, 1, 2, 0, 2, pages), /outside the kernels' memory/);
  assert.throws(() => convProducts(0, 64, 128, 1, 1, 2, 0, 2), /wrong number of arguments/);
  assert.throws(() => convProducts(0, 64, 128, 1, 1, 2, 0, 4, pages), /bad convolution shape/);
  // the pair: a second group's x (x * 2) at 256, outputs at 512 and 640: each as convProducts alone
  f.set([2, 4, 6, 8, 10, 12, 14, 16], 64);
  convProductsPair(0, 256, 64, 512, 640, 1, 1, 2, 0, 2, pages);
  assert.deepEqual(Array.from(f.subarray(128, 144)), Array.from(f.subarray(32, 48)));
  assert.deepEqual(Array.from(f.subarray(160, 176)), [4, 8, 12, 16, 20, 24, 28, 32, -10, -12, -14, -16, 2, 4, 6, 8]);
  assert.throws(() => convProductsPair(0, bytes - 16, 64, 512, 640, 1, 1, 2, 0, 2, pages), /outside the kernels' memory/);
  assert.throws(() => convProductsPair(0, 256, 64, 512, bytes - 32, 1, 1, 2, 0, 2, pages), /outside the kernels' memory/);
  assert.throws(() => convProductsPair(0, 256, 64, 512, 640, 1, 1, 2, 1, 2, pages), /bad convolution shape/);
  assert.throws(() => gradWProducts(0, 0, 0, 1, 1, 4, 4, 32, 32, 0, 200000, 0, pages), /outside the kernels' memory/);
  // T = 32: 16 row pairs of 1 KiB, a 1 KiB work array, 544 slots of 32 bytes
  assert.throws(() => fwd2d(0, 16384, bytes - 1024, 32, 16, pages), /outside the kernels' memory/);
  assert.throws(() => inv2d(0, bytes - 1024, 16384, 32, 16, pages), /outside the kernels' memory/);
  assert.throws(() => fwd2d(0, 16384, 20000, 24, 12, pages), /bad transform shape/);
  assert.throws(() => fwd2d(0, 16384, 20000, 32, 17, pages), /bad transform shape/);
  // the tile moves: a lane table (4 entries of 64 bytes at 40960) whose rows lie past the memory's end
  const lanes = new Int32Array(memory.buffer, 40960, 64);
  lanes.fill(0);
  lanes.set([0, 0, 0, 0, 32], 0); // lane 0: window rows 0..32
  lanes[12] = bytes - 4096; // its plane's origin: 32 rows of 256 floats do not fit
  assert.throws(() => gatherFwd2d(0, 16384, 20000, 32, 16, 40960, 41216, 256, 42240, 0, 0, 0, pages), /a tile row lies outside/);
  assert.throws(() => gatherFwd2d(0, 16384, 20000, 24, 12, 40960, 41216, 256, 42240, 0, 0, 0, pages), /bad transform shape/);
  assert.throws(() => gatherFwd2d(0, 16384, 20000, 32, 16, bytes - 128, 41216, 256, 42240, 0, 0, 0, pages), /outside the kernels' memory/);
  lanes.fill(0);
  lanes.set([26, 26], 8); // lane 0: a 26 x 26 output block of image 0, channel 0 ...
  assert.throws(() => inv2dScatter(20000, 0, 16384, 32, 26, 40960, bytes - 26 * 4, 1, 0, 256, 256, 0, 0, pages), /a tile row lies outside/);
  assert.throws(() => inv2dScatter(20000, 0, 16384, 32, 33, 40960, 0, 1, 0, 256, 256, 0, 0, pages), /bad transform shape/);
  // quads: 2 spectra of 546 slots (T = 32) into quads 1 KiB apart: the last ones past the end
  assert.throws(() => storeQuads(0, 546, 2, bytes - 100000, 1024, 64, pages), /outside the kernels' memory/);
  assert.throws(() => storeQuads(0, 546, 2, 40000, 256, 32, pages), /bad quad layout/);
  assert.throws(() => addon.kernels.bind(new Float32Array(4) as unknown as Uint8Array), /Uint8Array/);
  // built from the sources the kernels expect (a stale file of another version is not loaded)
  assert.equal(addon.kernels.version, NATIVE_KERNELS_VERSION);
});

test('native kernels: PYRAMIDFLOW_NATIVE=0 turns them off for the API', { skip }, async () => {
  const { ensureBackend } = await import('../../../src/api/runtime.js');
  const before = process.env.PYRAMIDFLOW_NATIVE;
  try {
    process.env.PYRAMIDFLOW_NATIVE = '0';
    assert.equal(await ensureBackend(1), 'wasm-relaxed-simd x1');
    delete process.env.PYRAMIDFLOW_NATIVE;
    assert.equal(await ensureBackend(1), 'wasm-relaxed-simd+avx2 x1');
  } finally {
    if (before === undefined) delete process.env.PYRAMIDFLOW_NATIVE;
    else process.env.PYRAMIDFLOW_NATIVE = before;
    const { setBackend } = await import('../../../src/tensor/index.js');
    const { JsBackend } = await import('../../../src/tensor/kernels/js/conv.js');
    setBackend(new JsBackend());
  }
});
