/** Shared by the kernel tests: deterministic data, the error measure, and wasm backends disposed after the file. */
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { createWasmBackend, type WasmBackend } from '../../../src/tensor/kernels/wasm/backend.js';
import type { ConvShape } from '../../../src/tensor/kernels/backend.js';

/** Small deterministic generator (mulberry32) for test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomArray(n: number, next: () => number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (next() * 2 - 1) * scale;
  return a;
}

/** Random input x, weights w and output gradient dy of a convolution shape (in that order from one generator). */
export function randomConv(s: ConvShape, seed: number): { x: Float32Array; w: Float32Array; dy: Float32Array } {
  const next = rng(seed);
  const { batch: N, inChannels: C, outChannels: O, height: H, width: W, kernel: K } = s;
  const x = randomArray(N * C * H * W, next),
    w = randomArray(O * C * K * K, next),
    dy = randomArray(N * O * H * W, next);
  return { x, w, dy };
}

/** max |a - b| / max |a| over the first n elements (all of them, same lengths, when n is left out). */
export function relErr(ref: Float32Array, got: Float32Array, n?: number): number {
  if (n === undefined) {
    assert.equal(got.length, ref.length);
    n = ref.length;
  }
  let m = 0,
    e = 0;
  for (let i = 0; i < n; i++) {
    const d = Math.abs(ref[i]! - got[i]!);
    if (!(d <= e)) e = Number.isNaN(d) ? Infinity : Math.max(e, d);
    m = Math.max(m, Math.abs(ref[i]!));
  }
  return m === 0 ? e : e / m;
}

/** A factory of wasm backends that are all disposed when the test file ends. */
export function wasmBackendFactory(): (threads: number, relaxedSimd: boolean, nativeKernels?: boolean) => Promise<WasmBackend> {
  const backends: WasmBackend[] = [];
  after(() => {
    for (const b of backends) b.dispose();
  });
  return async (threads, relaxedSimd, nativeKernels) => {
    const b = await createWasmBackend({ threads, relaxedSimd, nativeKernels });
    backends.push(b);
    return b;
  };
}
