/**
 * Everything the wasm backend needs from its host, behind one small interface so that the same
 * kernels and pool can run in a browser later (a Blob-URL Worker and fetch() instead of
 * worker_threads and the file system). Only the Node.js implementation lives here.
 */
import { WORKER_MAIN } from './worker-source.js';

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
}

/** The Node.js platform: worker_threads, fs, v8 flags. Imported lazily to stay browser-safe. */
export async function nodePlatform(): Promise<Platform> {
  const [{ Worker }, fs, path, url, os, v8] = await Promise.all([
    import('node:worker_threads'),
    import('node:fs'),
    import('node:path'),
    import('node:url'),
    import('node:os'),
    import('node:v8'),
  ]);

  /** Walks up from this module to the package root (the folder with package.json and build/). */
  function findBuildDir(): string {
    let dir = path.dirname(url.fileURLToPath(import.meta.url));
    let firstPkg: string | undefined;
    for (;;) {
      if (fs.existsSync(path.join(dir, 'package.json'))) {
        firstPkg ??= dir;
        if (fs.existsSync(path.join(dir, 'build'))) return path.join(dir, 'build');
      }
      const up = path.dirname(dir);
      if (up === dir) break;
      dir = up;
    }
    return path.join(firstPkg ?? process.cwd(), 'build');
  }

  let relaxedOn = false;
  const workerSource = [
    "'use strict';",
    "const { workerData, parentPort } = require('node:worker_threads');",
    "if (workerData.relaxed) require('node:v8').setFlagsFromString('--experimental-wasm-relaxed-simd');",
    WORKER_MAIN,
    "workerMain(workerData, () => parentPort.postMessage('ready'));",
  ].join('\n');

  return {
    cpuCount: () => (typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length),
    enableRelaxedSimd(): void {
      if (relaxedOn) return;
      v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
      relaxedOn = true;
    },
    async loadWasm(name: string): Promise<Uint8Array<ArrayBuffer>> {
      const file = path.join(findBuildDir(), name);
      try {
        return await fs.promises.readFile(file);
      } catch (e) {
        throw new Error(`wasm kernels not found at ${file}: run \`npm run build:wasm\` (${(e as Error).message})`);
      }
    },
    spawnWorker(data: WorkerData): Promise<WorkerHandle> {
      return new Promise((resolve, reject) => {
        const w = new Worker(workerSource, { eval: true, workerData: data });
        const onError = (e: Error): void => reject(e);
        w.once('error', onError);
        w.once('message', () => {
          w.off('error', onError);
          // A worker that dies later must not take the process down with an unhandled event.
          w.on('error', () => {});
          w.unref();
          resolve({ terminate: () => void w.terminate() });
        });
      });
    },
  };
}
