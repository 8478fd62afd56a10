/**
 * The kernels' host in a browser (src/tensor/kernels/wasm/platform.ts's Platform): the .wasm
 * builds fetched from the bundle's folder, pool threads as Web Workers made from a Blob of
 * WORKER_MAIN (no file to locate, and the same text Node's worker_threads run), the processor
 * count from `navigator.hardwareConcurrency`, and relaxed SIMD detected by validating a tiny module.
 * It runs inside the engine worker: only there may thread 0 block in Atomics.wait.
 */
import type { Platform, WorkerData, WorkerHandle } from '../tensor/kernels/wasm/platform.js';
import { WORKER_MAIN } from '../tensor/kernels/wasm/worker-source.js';

/**
 * A module whose one function uses f32x4.relaxed_madd (0xfd 0x85 0x02): valid exactly where the
 * engine has relaxed SIMD. (type () -> v128, body: three v128 constants, relaxed_madd.)
 */
const RELAXED_PROBE = new Uint8Array([
  0x00,
  0x61,
  0x73,
  0x6d,
  0x01,
  0x00,
  0x00,
  0x00,
  0x01,
  0x05,
  0x01,
  0x60,
  0x00,
  0x01,
  0x7b,
  0x03,
  0x02,
  0x01,
  0x00,
  0x0a,
  0x3d,
  0x01,
  0x3b,
  0x00,
  0xfd,
  0x0c,
  ...new Array(16).fill(0),
  0xfd,
  0x0c,
  ...new Array(16).fill(0),
  0xfd,
  0x0c,
  ...new Array(16).fill(0),
  0xfd,
  0x85,
  0x02,
  0x0b,
]);

/** Whether this engine compiles relaxed-SIMD instructions. */
export function hasRelaxedSimd(): boolean {
  try {
    return WebAssembly.validate(RELAXED_PROBE);
  } catch {
    return false;
  }
}

/** The worker's script: WORKER_MAIN, started by the first message (the pool's WorkerData). */
const WORKER_SCRIPT = `'use strict';\n${WORKER_MAIN}\nself.onmessage = (e) => { self.onmessage = null; workerMain(e.data, () => self.postMessage('ready')); };\n`;

/**
 * The browser platform. `baseUrl`: the folder of kernels-simd.wasm and kernels-relaxed.wasm.
 * Workers that fail to start (a Content Security Policy without `worker-src blob:`) reject with
 * a message that says so.
 */
export function browserPlatform(baseUrl: string | URL): Platform {
  let scriptUrl: string | undefined;
  return {
    cpuCount: () => Math.max(1, navigator.hardwareConcurrency || 1),
    enableRelaxedSimd(): void {
      // Nothing to switch on in a browser: refuse here, so that the plain build is loaded instead.
      if (!hasRelaxedSimd()) throw new Error('this browser has no relaxed SIMD');
    },
    async loadWasm(name: string): Promise<Uint8Array<ArrayBuffer>> {
      const url = new URL(name, baseUrl);
      let response: Response;
      try {
        response = await fetch(url);
      } catch (e) {
        throw new Error(`wasm kernels: cannot fetch ${url.href} (${(e as Error).message})`);
      }
      if (!response.ok) throw new Error(`wasm kernels: ${url.href} answered HTTP ${response.status}; serve ${name} next to the bundle`);
      return new Uint8Array(await response.arrayBuffer());
    },
    spawnWorker(data: WorkerData): Promise<WorkerHandle> {
      scriptUrl ??= URL.createObjectURL(new Blob([WORKER_SCRIPT], { type: 'text/javascript' }));
      return new Promise((resolve, reject) => {
        let worker: Worker;
        try {
          worker = new Worker(scriptUrl!, { name: `pyramidflow kernels ${data.id}` });
        } catch (e) {
          reject(new Error(`cannot start a kernel worker from a blob: URL (${(e as Error).message}); allow worker-src blob: in the Content Security Policy`));
          return;
        }
        worker.onerror = (e) => {
          e.preventDefault();
          reject(new Error(`kernel worker ${data.id} failed to start: ${e.message || 'no message'}`));
        };
        worker.onmessage = () => {
          worker.onmessage = null;
          worker.onerror = null;
          resolve({ terminate: () => worker.terminate() });
        };
        worker.postMessage(data);
      });
    },
  };
}
