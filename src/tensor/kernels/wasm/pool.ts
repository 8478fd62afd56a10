/**
 * A pool of threads over one shared WebAssembly.Memory. A kernel call writes its parameters
 * into the job block, bumps the job sequence word and wakes the workers with Atomics.notify;
 * every thread (the main one included) then claims task numbers from a shared counter until
 * none are left. The main thread blocks in Atomics.wait until the last worker checks in.
 * No message passing per call: a dispatch costs a futex wake-up, not a 30 us round trip.
 */
import type { Platform, WorkerHandle } from './platform.js';

/** Byte layout of the low memory owned by the pool (the kernels have no static data). */
export const CTRL_OFFSET = 65536;
export const JOB_OFFSET = CTRL_OFFSET + 256;
export const JOB_WORDS = 64;
/** First byte free for buffers. */
export const HEAP_OFFSET = 131072;

const SEQ = 0,
  PENDING = 1,
  NEXT = 2,
  NTASKS = 3,
  SHUTDOWN = 4,
  FAILED = 5,
  /** 1: the kernels call the native code (assembly/native.ts reads this word). */
  NATIVE = 6;

type RunTask = (job: number, task: number, thread: number) => void;

export class ThreadPool {
  readonly threads: number;
  private readonly workers: WorkerHandle[];
  private readonly ctrl: Int32Array;
  private readonly jobWords: Int32Array;
  private readonly runTask: RunTask;
  private disposed = false;

  private constructor(memory: WebAssembly.Memory, runTask: RunTask, workers: WorkerHandle[]) {
    this.ctrl = new Int32Array(memory.buffer, CTRL_OFFSET, 16);
    this.jobWords = new Int32Array(memory.buffer, JOB_OFFSET, JOB_WORDS);
    this.runTask = runTask;
    this.workers = workers;
    this.threads = workers.length + 1;
  }

  static async create(
    platform: Platform,
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    runTask: RunTask,
    threads: number,
    relaxed: boolean,
    native?: string,
  ): Promise<ThreadPool> {
    const spin = 20000;
    const workers = await Promise.all(
      Array.from({ length: Math.max(0, threads - 1) }, (_, i) =>
        platform.spawnWorker({ module, memory, ctrl: CTRL_OFFSET, job: JOB_OFFSET, id: i + 1, spin, relaxed, ...(native ? { native } : {}) }),
      ),
    );
    return new ThreadPool(memory, runTask, workers);
  }

  /**
   * Runs tasks 0..ntasks-1 of the job described by `params` (params[0] = kernel id; numbers
   * are written as 32-bit words, byte offsets included: memory is at most 4 GiB).
   * `parallel` false (small jobs) keeps everything on the calling thread. `meanwhile` runs on
   * the calling thread once the workers are woken, before it claims tasks itself.
   */
  run(params: ArrayLike<number>, ntasks: number, parallel = true, meanwhile?: () => void): void {
    if (this.disposed) throw new Error('wasm backend used after dispose()');
    if (ntasks <= 0) {
      meanwhile?.();
      return;
    }
    const jw = this.jobWords;
    if (params.length > JOB_WORDS) throw new Error('job parameter block too long');
    for (let i = 0; i < params.length; i++) jw[i] = params[i]! | 0;
    const run = this.runTask;
    if (!parallel || this.workers.length === 0 || ntasks === 1) {
      meanwhile?.();
      for (let t = 0; t < ntasks; t++) run(JOB_OFFSET, t, 0);
      return;
    }
    const c = this.ctrl;
    Atomics.store(c, NEXT, 0);
    Atomics.store(c, NTASKS, ntasks);
    Atomics.store(c, PENDING, this.workers.length);
    Atomics.add(c, SEQ, 1);
    Atomics.notify(c, SEQ);
    let err: unknown;
    try {
      // Work of the calling thread that overlaps the workers' start (copies in or out of the
      // shared memory), then its share of the tasks.
      meanwhile?.();
      for (;;) {
        const t = Atomics.add(c, NEXT, 1);
        if (t >= ntasks) break;
        run(JOB_OFFSET, t, 0);
      }
    } catch (e) {
      err = e;
      // Let the workers drain the remaining tasks quickly, then wait for them as usual.
      Atomics.store(c, NEXT, ntasks);
    }
    let v = Atomics.load(c, PENDING);
    for (let i = 0; v !== 0 && i < 20000; i++) v = Atomics.load(c, PENDING);
    while (v !== 0) {
      Atomics.wait(c, PENDING, v);
      v = Atomics.load(c, PENDING);
    }
    if (err !== undefined) throw err;
    if (Atomics.load(c, FAILED) !== 0) {
      Atomics.store(c, FAILED, 0);
      throw new Error('a wasm kernel task failed in a worker thread');
    }
  }

  /** Whether the kernels call the native code (native-kernels.ts): set between calls, read by every thread. */
  get native(): boolean {
    return Atomics.load(this.ctrl, NATIVE) !== 0;
  }
  set native(on: boolean) {
    Atomics.store(this.ctrl, NATIVE, on ? 1 : 0);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const c = this.ctrl;
    Atomics.store(c, SHUTDOWN, 1);
    Atomics.add(c, SEQ, 1);
    Atomics.notify(c, SEQ);
    for (const w of this.workers) w.terminate();
  }
}
