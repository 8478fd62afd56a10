/** Process-wide set-up shared by the API functions: the kernel backend and thread count. */
import { availableParallelism } from 'node:os';
import { initBackend, backend } from '../tensor/index.js';

let ready: Promise<void> | null = null;
let readyThreads = -1;
let readyKind = '';

/**
 * Installs the kernel backend once (re-initialised if the thread count or kind changes): the
 * WebAssembly one unless `kind` or PYRAMIDFLOW_BACKEND=js asks for the JS reference.
 */
export async function ensureBackend(threads?: number, kind?: 'js' | 'wasm'): Promise<string> {
  const want = threads ?? availableParallelism();
  if (!Number.isInteger(want) || want < 1) throw new Error(`threads must be a positive integer, got ${threads}`);
  const wantKind = kind ?? (process.env.PYRAMIDFLOW_BACKEND === 'js' ? 'js' : 'wasm');
  if (!ready || readyThreads !== want || readyKind !== wantKind) {
    readyThreads = want;
    readyKind = wantKind;
    ready = initBackend({ kind: wantKind, threads: want }).then(() => undefined);
  }
  await ready;
  return backend().name;
}
