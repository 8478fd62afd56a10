/**
 * How the backend talks to its kernels: the per-call scratch (Arena), copies in and out of the
 * shared memory for arrays that do not live there, and running a job over the thread pool (with
 * an optional per-kernel profile). The numbers in a job's first words are kernel-ids.ts's.
 */
import type { Heap } from './heap.js';
import type { ThreadPool } from './pool.js';

/** v rounded to float32, as the int32 word a job carries (the kernel reinterprets it). */
export const f32bits = (v: number): number => {
  const b = new Float32Array([v]);
  return new Int32Array(b.buffer)[0]!;
};

export const ceilTo = (v: number, m: number): number => Math.ceil(v / m) * m;

/** Work (flops) below which a kernel stays on the calling thread: waking workers costs more. */
export const PARALLEL_FLOPS = 4e6;

/** Elements below which a copy, pad or elementwise job stays on the calling thread. */
export const PARALLEL_ELEMS = 1 << 17;

/** Work units per element of the kernels with atan and exp (about their cost relative to a copy). */
export const TRANSCENDENTAL_WORK = 16;

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

  constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly pool: ThreadPool,
    readonly heap: Heap,
  ) {
    this.arena = new Arena(heap);
    this.threads = pool.threads;
  }

  /** Whether the kernels call native code now (the pool's switch). */
  get native(): boolean {
    return this.pool.native;
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
   * When set, accumulates wall milliseconds per kernel id (kernel-ids.ts KERNEL_NAMES): a profiling aid for
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
