/** Process-wide set-up shared by the API functions: the kernel backend and thread count. */
import { availableParallelism } from 'node:os';
import { initBackend, backend } from '../tensor/index.js';

let ready: Promise<void> | null = null;
let readyThreads = -1;
let readyKind = '';

/**
 * Installs the kernel backend once (re-initialised if the thread count or kind changes): the
 * WebAssembly one unless `kind` or PYRAMIDFLOW_BACKEND=js asks for the JS reference, with its
 * FFT products and transforms in native code where built and supported, unless PYRAMIDFLOW_NATIVE=0.
 */
export async function ensureBackend(threads?: number, kind?: 'js' | 'wasm'): Promise<string> {
  const want = threads ?? availableParallelism();
  if (!Number.isInteger(want) || want < 1) throw new Error(`threads must be a positive integer, got ${threads}`);
  const baseKind = kind ?? (process.env.PYRAMIDFLOW_BACKEND === 'js' ? 'js' : 'wasm');
  const nativeKernels = process.env.PYRAMIDFLOW_NATIVE !== '0';
  const wantKind = `${baseKind}${nativeKernels ? '' : ' (no native)'}`;
  if (!ready || readyThreads !== want || readyKind !== wantKind) {
    readyThreads = want;
    readyKind = wantKind;
    ready = initBackend({ kind: baseKind, threads: want, nativeKernels }).then(() => undefined);
  }
  await ready;
  return backend().name;
}
