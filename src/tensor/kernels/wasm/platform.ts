/**
 * Everything the wasm backend needs from its host, behind one small interface so that the same
 * kernels and pool run in a browser too (src/browser/platform.ts: Blob-URL Workers and fetch()
 * instead of worker_threads and the file system). The Node.js implementation is node-platform.ts.
 */
import type { NativeKernels } from './native-kernels.js';

export interface WorkerData {
  /** Compiled kernel module; every thread instantiates it over the same memory. */
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** Byte offset of the control words (Int32) in the shared memory. */
  ctrl: number;
  /** Byte offset of the job parameter block. */
  job: number;
  /** This worker's thread index (1..threads-1; the main thread is 0). */
  id: number;
  /** Busy-wait iterations before sleeping on Atomics.wait. */
  spin: number;
  relaxed: boolean;
  /** Path of the native kernels' addon the worker loads (Node.js only; native-kernels.ts), if any. */
  native?: string;
}

export interface WorkerHandle {
  terminate(): void;
}

export interface Platform {
  /** Logical processors available to this process. */
  cpuCount(): number;
  /** Makes relaxed SIMD available to WebAssembly compilation (a V8 flag on Node 20). */
  enableRelaxedSimd(): void;
  /** Bytes of a file of the kernel build (build/NAME.wasm). */
  loadWasm(name: string): Promise<Uint8Array<ArrayBuffer>>;
  /** Starts a worker running WORKER_MAIN over `data`; resolves once it is ready. */
  spawnWorker(data: WorkerData): Promise<WorkerHandle>;
  /**
   * The native kernels (native-kernels.ts) and the path workers load them from, where this
   * host has them and the processor runs them; undefined otherwise (and in a browser).
   */
  loadNativeKernels?(): { path: string; kernels: NativeKernels } | undefined;
}

/**
 * The Node.js platform: worker_threads, fs, v8 flags (node-platform.ts). Loaded lazily, so that
 * a browser bundle leaves it out (scripts/build-browser.mjs replaces that module with a stub).
 */
export async function nodePlatform(): Promise<Platform> {
  const { createNodePlatform } = await import('./node-platform.js');
  return createNodePlatform();
}
