/**
 * The kernels' host on Node.js (platform.ts's Platform): the .wasm builds read from the package's
 * build/ folder, pool threads as worker_threads running WORKER_MAIN, the relaxed-SIMD V8 flag.
 * platform.ts loads this module lazily; a browser bundle never contains it. (Typed on its own,
 * not with platform.ts's types: that import would make a cycle; platform.ts checks the result.)
 */
import { WORKER_MAIN } from './worker-source.js';
import { NATIVE_KERNELS_VERSION, type NativeKernels } from './native-kernels.js';

/** The Node.js platform: worker_threads, fs, v8 flags (Node's modules imported when it is made). */
export async function createNodePlatform(): Promise<{
  cpuCount(): number;
  enableRelaxedSimd(): void;
  loadWasm(name: string): Promise<Uint8Array<ArrayBuffer>>;
  spawnWorker(data: { relaxed: boolean }): Promise<{ terminate(): void }>;
  loadNativeKernels(): { path: string; kernels: NativeKernels } | undefined;
}> {
  const [{ Worker }, fs, path, url, os, v8, { createRequire }] = await Promise.all([
    import('node:worker_threads'),
    import('node:fs'),
    import('node:path'),
    import('node:url'),
    import('node:os'),
    import('node:v8'),
    import('node:module'),
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
    "workerMain(workerData, () => parentPort.postMessage('ready'), workerData.native ? require(workerData.native) : null);",
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
    loadNativeKernels(): { path: string; kernels: NativeKernels } | undefined {
      // build/native-kernels-linux-x64.node, from `npm run build:native` (scripts/build-native.mjs)
      const file = path.join(findBuildDir(), `native-kernels-${process.platform}-${process.arch}.node`);
      if (!fs.existsSync(file)) return undefined;
      try {
        const kernels = createRequire(import.meta.url)(file) as NativeKernels;
        // a file built from other sources would lack or misread imports: the wasm loops run instead
        return kernels.version === NATIVE_KERNELS_VERSION && kernels.supported() ? { path: file, kernels } : undefined;
      } catch {
        // built for another Node-API or libc: the WebAssembly loops run instead
        return undefined;
      }
    },
    spawnWorker(data: { relaxed: boolean }): Promise<{ terminate(): void }> {
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
