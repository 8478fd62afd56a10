/**
 * Loading the kernels: the module (the relaxed-SIMD build where the runtime validates it, else
 * the SIMD128 one), the shared memory, the check that the module was built from this backend's
 * kernel-ids table, and the worker threads.
 */
import type { Platform } from './platform.js';
import { ThreadPool, HEAP_OFFSET } from './pool.js';
import { PROTOCOL_HASH } from './kernel-ids.js';
import { kernelImports } from './native-kernels.js';

const PAGE = 65536;
/** The memory's maximum in pages (4 GiB); runtimes that refuse it get 1 GiB. */
export const MAX_PAGES = 65536;

export interface LoadedKernels {
  memory: WebAssembly.Memory;
  pool: ThreadPool;
  /** Whether the relaxed-SIMD build runs. */
  relaxed: boolean;
  /** Whether native code (native-kernels.ts) was loaded for its products and transforms. */
  native: boolean;
  maxPages: number;
}

export async function loadKernels(platform: Platform, threads: number, relaxedSimd: boolean, nativeKernels = true): Promise<LoadedKernels> {
  let relaxed = false;
  let module: WebAssembly.Module | undefined;
  if (relaxedSimd) {
    try {
      platform.enableRelaxedSimd();
      const bytes = await platform.loadWasm('kernels-relaxed.wasm');
      if (WebAssembly.validate(bytes)) {
        module = await WebAssembly.compile(bytes);
        relaxed = true;
      }
    } catch {
      module = undefined;
    }
  }
  if (!module) module = await WebAssembly.compile(await platform.loadWasm('kernels-simd.wasm'));
  const initial = Math.ceil(HEAP_OFFSET / PAGE) + 16;
  let memory: WebAssembly.Memory;
  let maxPages = MAX_PAGES;
  try {
    memory = new WebAssembly.Memory({ initial, maximum: maxPages, shared: true });
  } catch {
    maxPages = 16384;
    memory = new WebAssembly.Memory({ initial, maximum: maxPages, shared: true });
  }
  // The native kernels reproduce the relaxed build's fused multiply-adds, not the plain build's.
  const native = relaxed && nativeKernels ? platform.loadNativeKernels?.() : undefined;
  const instance = await WebAssembly.instantiate(module, { env: kernelImports(memory, native?.kernels ?? null) });
  // A module built from another table would run the wrong kernel for an id: refuse it.
  const built = (instance.exports.kernelProtocol as (() => number) | undefined)?.();
  if (built !== PROTOCOL_HASH) {
    throw new Error(
      `wasm backend: ${relaxed ? 'kernels-relaxed' : 'kernels-simd'}.wasm was not built from ` +
        'src/tensor/kernels/wasm/kernel-ids.ts as it is now (kernel ids may differ): run npm run build:wasm',
    );
  }
  const runTask = instance.exports.runTask as (job: number, task: number, thread: number) => void;
  (instance.exports.initTables as () => void)();
  const pool = await ThreadPool.create(platform, module, memory, runTask, threads, relaxed, native?.path);
  pool.native = native !== undefined;
  return { memory, pool, relaxed, native: native !== undefined, maxPages };
}
