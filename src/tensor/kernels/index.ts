import type { KernelBackend } from './backend.js';
import { JsBackend } from './js/conv.js';
import { setFloatAllocator } from '../storage.js';

export type { ConvShape, KernelBackend } from './backend.js';

export interface BackendOptions {
  /** 'wasm' (default where it loads) or 'js' (the reference, slow). */
  kind?: 'wasm' | 'js';
  /** Worker threads for the wasm kernels; default: all cores. */
  threads?: number;
  /** Use the relaxed-SIMD build where the runtime supports it (default true). */
  relaxedSimd?: boolean;
  /** Run the FFT products and transforms as native AVX2 code where available (default true; wasm/native-kernels.ts). */
  nativeKernels?: boolean;
}

let current: KernelBackend = new JsBackend();

/** The backend every op uses. Starts as the JS reference until initBackend() is awaited. */
export function backend(): KernelBackend {
  return current;
}

export function setBackend(b: KernelBackend): void {
  if (b === current) return;
  setFloatAllocator(b.floatAllocator ?? null);
  current.dispose();
  current = b;
}

/** Loads and installs a backend. Async because WebAssembly compiles and workers start. */
export async function initBackend(opts: BackendOptions = {}): Promise<KernelBackend> {
  const kind = opts.kind ?? 'wasm';
  if (kind === 'js') {
    setBackend(new JsBackend());
    return current;
  }
  const { createWasmBackend } = await import('./wasm/backend.js');
  setBackend(await createWasmBackend({ threads: opts.threads, relaxedSimd: opts.relaxedSimd, nativeKernels: opts.nativeKernels }));
  return current;
}

/**
 * Keep per-weights work (FFT filter spectra) between calls, up to `bytes`; 0 turns it off and
 * frees it. Evaluation turns it on (the same weights for every image), training off.
 */
export function cacheFilters(bytes: number): void {
  current.cacheFilters?.(bytes);
}
