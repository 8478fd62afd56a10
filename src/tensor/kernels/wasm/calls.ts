/**
 * How the backend talks to its kernels: kernel ids (assembly/index.ts), the per-call scratch
 * (Arena), copies in and out of the shared memory for arrays that do not live there, and
 * running a job over the thread pool (with an optional per-kernel profile).
 */
import type { Heap } from './heap.js';
import type { ThreadPool } from './pool.js';

// Kernel ids (assembly/index.ts).
export const K_PAD = 1, K_CROP = 2, K_WEIGHTS_DIRECT = 3, K_CONV_DIRECT = 4, K_GRADW_DIRECT = 5;
export const K_FFT_INPUT = 6, K_FFT_FILTER = 7, K_FFT_CONV = 8, K_FFT_GRADW = 9, K_FFT_GRADW_INV = 10, K_FFT_FUSED = 11;
export const K_MAP = 12, K_AFFINE = 13, K_AFFINE_BACK = 14, K_BLUR = 15, K_NEAREST = 16, K_NEAREST_GRAD = 17, K_MAX_POOL = 18;
export const K_FFT_BACKWARD = 19, K_FMA_LOOP = 20;
// K_MAP operations and the affine jobs' flags (assembly/elementwise.ts)
export const MAP_EXP = 0, MAP_SOFT_CLAMP = 1, MAP_LEAKY = 2, MAP_LEAKY_GRAD = 3, MAP_ADD = 4, MAP_SUB = 5, MAP_MUL = 6;
export const A_SOFT = 1, A_CVN = 2, A_SVN = 4, A_APPLY = 8, A_SAME = 64, A_HAVE_S = 128, A_INVERSE = 256;

/** Names of the kernel ids, for profiles. */
export const KERNEL_NAMES: Record<number, string> = {
  [K_PAD]: 'pad', [K_CROP]: 'crop', [K_WEIGHTS_DIRECT]: 'weights', [K_CONV_DIRECT]: 'direct', [K_GRADW_DIRECT]: 'direct-dw',
  [K_FFT_INPUT]: 'fft-input', [K_FFT_FILTER]: 'fft-filters', [K_FFT_CONV]: 'fft-products', [K_FFT_GRADW]: 'fft-dw-products',
  [K_FFT_GRADW_INV]: 'fft-dw-inverse', [K_FFT_FUSED]: 'fft-fused',
  [K_MAP]: 'map', [K_AFFINE]: 'affine', [K_AFFINE_BACK]: 'affine-backward', [K_BLUR]: 'blur', [K_NEAREST]: 'nearest',
  [K_NEAREST_GRAD]: 'nearest-grad', [K_MAX_POOL]: 'max-pool', [K_FFT_BACKWARD]: 'fft-backward', [K_FMA_LOOP]: 'fma-loop',
};

export const f32bits = (v: number): number => {
  const b = new Float32Array([v]);
  return new Int32Array(b.buffer)[0]!;
};


export const ceilTo = (v: number, m: number): number => Math.ceil(v / m) * m;

/** Work (flops) below which a kernel stays on the calling thread: waking workers costs more. */
export const PARALLEL_FLOPS = 4e6;

/** A kernel call's scratch: heap blocks, all freed at the next call (or the next tensor allocation). */
export class Arena {
  private readonly blocks: number[] = [];
  constructor(private readonly heap: Heap) {}
  reset(): void {
    for (const b of this.blocks) this.heap.release(b);
    this.blocks.length = 0;
  }
  /** Byte offset of room for `floats` float32 values (64-byte aligned, slack for over-reading vector loads). */
  floats(floats: number): number {
    const p = this.heap.alloc(floats * 4);
    this.blocks.push(p);
    return p;
  }
}

export class KernelCalls {
  readonly arena: Arena;
  readonly threads: number;

  constructor(private readonly memory: WebAssembly.Memory, private readonly pool: ThreadPool, readonly heap: Heap) {
    this.arena = new Arena(heap);
    this.threads = pool.threads;
  }

  /** The shared memory's buffer (it changes when the memory grows: take it afresh each time). */
  get buffer(): ArrayBufferLike {
    return this.memory.buffer;
  }

  f32(offset: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, offset, length);
  }

  /** Offset of x's first n values in the shared memory: x itself when resident, else a scratch copy. */
  input(x: Float32Array, n: number): number {
    if (x.length < n) throw new Error(`array too short: ${x.length} < ${n}`);
    if (this.heap.owns(x)) return x.byteOffset;
    const p = this.arena.floats(n);
    this.put(p, x, n);
    return p;
  }

  /** Offset a kernel writes y's n values to: y itself when resident, else scratch (see output()). */
  outputAt(y: Float32Array, n: number): number {
    if (y.length < n) throw new Error(`output array too short: ${y.length} < ${n}`);
    return this.heap.owns(y) ? y.byteOffset : this.arena.floats(n);
  }

  /** Copies a result written at `offset` into y unless it was written there in place. */
  output(offset: number, y: Float32Array, n: number): void {
    if (!this.heap.owns(y) || offset !== y.byteOffset) this.get(offset, y, n);
  }

  put(offset: number, a: Float32Array, length: number): void {
    if (a.length < length) throw new Error(`array too short: ${a.length} < ${length}`);
    this.f32(offset, length).set(length === a.length ? a : a.subarray(0, length));
  }

  get(offset: number, out: Float32Array, length: number): void {
    if (out.length < length) throw new Error(`output array too short: ${out.length} < ${length}`);
    out.set(this.f32(offset, length));
  }

  /** Copies elements [from, from + length) of the float array at `offset` into out[from ...]. */
  getRange(offset: number, out: Float32Array, from: number, length: number): void {
    out.set(this.f32(offset + from * 4, length), from);
  }

  /**
   * When set, accumulates wall milliseconds per kernel id (KERNEL_NAMES): a profiling aid for
   * benchmarks (`npm run bench -- kernels --profile`).
   */
  profile: Map<number, number> | undefined;

  /**
   * Runs a job over the pool; `meanwhile` (copies) runs on this thread while the workers start.
   * Jobs with less than `threshold` work stay on this thread.
   */
  run(params: number[], ntasks: number, work: number, threshold = PARALLEL_FLOPS, meanwhile?: () => void): void {
    if (!this.profile) {
      this.pool.run(params, ntasks, work >= threshold, meanwhile);
      return;
    }
    const t0 = performance.now();
    this.pool.run(params, ntasks, work >= threshold, meanwhile);
    const k = params[0]!;
    this.profile.set(k, (this.profile.get(k) ?? 0) + performance.now() - t0);
  }
}
