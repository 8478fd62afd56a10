/**
 * conv2d with leakySlope (the affine block's first convolution and its LeakyReLU as one call):
 * on every path of the wasm backend (direct, FFT fused with one job or one job per image, FFT
 * separate jobs), both builds, 1 and 2 threads, the very bits of conv2d then leakyRelu on the
 * same backend; on the JS backend, those of its reference loops.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rng, randomArray, wasmBackendFactory } from './helpers.js';
import type { ConvShape, KernelBackend } from '../../../src/tensor/kernels/backend.js';
import { JsBackend } from '../../../src/tensor/kernels/js/conv.js';

const make = wasmBackendFactory();
const SLOPE = 0.01;

const shape = (batch: number, inChannels: number, outChannels: number, height: number, width: number, kernel: number): ConvShape => ({
  batch,
  inChannels,
  outChannels,
  height,
  width,
  kernel,
});

// [N, C, O, H, W, K]: small (direct), several tiles (fused, one job), 8 tiles an image (one job per image), many tile groups
const SHAPES = [shape(1, 3, 4, 7, 9, 3), shape(2, 9, 10, 53, 27, 7), shape(3, 3, 4, 40, 90, 7), shape(2, 4, 8, 100, 120, 7)];

/** Fused output against conv2d then leakyRelu, on backend b. */
function check(b: KernelBackend, s: ConvShape, label: string): void {
  const next = rng(s.height * 7 + s.width);
  const x = randomArray(s.batch * s.inChannels * s.height * s.width, next),
    w = randomArray(s.outChannels * s.inChannels * s.kernel * s.kernel, next);
  const n = s.batch * s.outChannels * s.height * s.width;
  const ref = new Float32Array(n).fill(NaN),
    got = new Float32Array(n).fill(NaN);
  b.conv2d(x, w, s, ref);
  b.leakyRelu(ref, SLOPE, n, ref);
  b.conv2d(x, w, s, got, SLOPE);
  assert.deepEqual(got, ref, `${label} ${JSON.stringify(s)}`);
  assert.ok(
    got.some((v) => v < 0),
    'negative outputs were scaled, not cut',
  );
}

test('conv2d with a LeakyReLU slope gives the bits of conv2d then leakyRelu (JS and every wasm path)', async () => {
  for (const s of SHAPES) check(new JsBackend(), s, 'js');
  for (const relaxed of [false, true]) {
    for (const threads of [1, 2]) {
      const b = await make(threads, relaxed);
      for (const algorithm of ['direct', 'fft'] as const) {
        b.forceAlgorithm = algorithm;
        for (const mode of algorithm === 'fft' ? (['fused', 'separate', 'auto'] as const) : (['auto'] as const)) {
          b.fftMode = mode;
          for (const s of SHAPES) check(b, s, `${b.name} ${algorithm} ${mode}`);
        }
      }
      b.forceAlgorithm = undefined;
      b.fftMode = 'auto';
    }
  }
});

/** conv2dBackward with the LeakyReLU's gradient taken on the way in, against leakyReluGrad first, on backend b. */
function checkBackward(b: KernelBackend, s: ConvShape, label: string, resident: boolean): void {
  const next = rng(s.height * 5 + s.width);
  const place = (a: Float32Array): Float32Array => {
    const r = resident && 'floatAllocator' in b ? (b as { floatAllocator: { alloc(n: number): Float32Array | null } }).floatAllocator.alloc(a.length) : null;
    if (!r) return a;
    r.set(a);
    return r;
  };
  const nx = s.batch * s.inChannels * s.height * s.width,
    ny = s.batch * s.outChannels * s.height * s.width,
    nw = s.outChannels * s.inChannels * s.kernel * s.kernel;
  const x = place(randomArray(nx, next)),
    w = place(randomArray(nw, next)),
    dy = place(randomArray(ny, next));
  const y = place(new Float32Array(ny));
  b.conv2d(x, w, s, y, SLOPE);
  const g = new Float32Array(ny);
  b.leakyReluGrad(y, dy, SLOPE, ny, g);
  const dxRef = new Float32Array(nx).fill(NaN),
    dwRef = new Float32Array(nw).fill(NaN),
    dx = place(new Float32Array(nx).fill(NaN)),
    dw = place(new Float32Array(nw).fill(NaN));
  b.conv2dBackward!(x, g, w, s, dxRef, dwRef);
  b.conv2dBackward!(x, dy, w, s, dx, dw, { output: y, slope: SLOPE });
  const what = `${label}${resident ? ' resident' : ''} ${JSON.stringify(s)}`;
  assert.deepEqual(dx, dxRef, `dx ${what}`);
  assert.deepEqual(dw, dwRef, `dw ${what}`);
  assert.ok(
    y.some((v) => v < 0),
    'some outputs took the slope',
  );
}

test('conv2dBackward with a LeakyReLU gives the bits of leakyReluGrad then conv2dBackward (every wasm path)', async () => {
  for (const relaxed of [false, true]) {
    for (const threads of [1, 2]) {
      const b = await make(threads, relaxed);
      for (const algorithm of ['direct', 'fft'] as const) {
        b.forceAlgorithm = algorithm;
        for (const s of SHAPES) for (const resident of [false, true]) checkBackward(b, s, `${b.name} ${algorithm}`, resident);
      }
      b.forceAlgorithm = undefined;
    }
  }
});
