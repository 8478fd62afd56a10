/** Process-wide set-up shared by the API functions: the kernel backend and thread count. */
import { availableParallelism } from 'node:os';
import { initBackend, backend } from '../tensor/index.js';

let ready: Promise<void> | null = null;
let readyThreads = -1;

/** Installs the WebAssembly backend once (re-initialised if the thread count changes). */
export async function ensureBackend(threads?: number): Promise<string> {
  const want = threads ?? availableParallelism();
  if (!Number.isInteger(want) || want < 1) throw new Error(`threads must be a positive integer, got ${threads}`);
  if (!ready || readyThreads !== want) {
    readyThreads = want;
    ready = initBackend({ kind: process.env.PYRAMIDFLOW_BACKEND === 'js' ? 'js' : 'wasm', threads: want }).then(() => undefined);
  }
  await ready;
  return backend().name;
}
