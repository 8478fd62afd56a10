#!/usr/bin/env node
// Bundles the browser entry (src/browser/index.ts) and its engine worker
// (src/browser/engine-worker.ts) with esbuild into one folder, ES modules for the browser,
// and copies the kernel builds (build/*.wasm) next to them, where the entry finds them by
// its own URL:
//   dist/browser/index.js          the page's API (pyramidflow/browser)
//   dist/browser/engine-worker.js  the engine: training, prediction, thread 0 of the kernels
//   dist/browser/kernels-*.wasm    the kernels
// Fails on any import of a Node module (node:*, fs, sharp, ...). The only exceptions are the
// dynamic imports on the Node code paths that a browser never takes: the Node kernel platform
// (NODE_ONLY_MODULES, loaded lazily by src/tensor/kernels/wasm/platform.ts) and the cgroup memory
// probe's node:fs and node:os (LAZY_NODE_IMPORTS): each becomes a module that throws if loaded.
// Usage: node scripts/build-browser.mjs [out-dir]   (default dist/browser)
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Files that may import a Node module lazily (`await import('node:...')`) on a path a browser never takes. */
export const LAZY_NODE_IMPORTS = ['src/train/memory.ts'];
/** Modules for Node only, imported lazily (`await import(...)`): left out of the bundle. */
export const NODE_ONLY_MODULES = ['src/tensor/kernels/wasm/node-platform.ts'];

/** Bare names a browser bundle must never contain: Node's built-ins and the native or file-system packages. */
const FORBIDDEN = new Set([...builtinModules, 'sharp', 'fs-extra', 'graceful-fs', 'onnxruntime-node']);

/** The kernel builds copied next to the bundle. */
export const WASM_FILES = ['kernels-simd.wasm', 'kernels-relaxed.wasm'];

function isNodeModule(path) {
  return path.startsWith('node:') || FORBIDDEN.has(path) || FORBIDDEN.has(path.split('/')[0]);
}

/** esbuild plugin: refuses Node modules; the allowed lazy ones resolve to a stub that throws when loaded. */
export const refuseNodeModules = {
  name: 'refuse-node-modules',
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => {
      const importer = relative(root, args.importer).split(sep).join('/');
      if (args.path.startsWith('.') && args.kind === 'dynamic-import') {
        const target = relative(root, resolve(dirname(args.importer), args.path.replace(/\.js$/, '.ts')))
          .split(sep)
          .join('/');
        if (NODE_ONLY_MODULES.includes(target)) return { path: target, namespace: 'node-stub' };
      }
      if (!isNodeModule(args.path)) return undefined;
      if (args.kind === 'dynamic-import' && LAZY_NODE_IMPORTS.includes(importer)) {
        return { path: args.path.replace(/^node:/, ''), namespace: 'node-stub' };
      }
      return { errors: [{ text: `${importer} imports "${args.path}": the browser entry may not use Node modules, sharp or the file system` }] };
    });
    build.onLoad({ filter: /.*/, namespace: 'node-stub' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`${args.path} is for Node.js only: not available in a browser`)});`,
      loader: 'js',
    }));
  },
};

/**
 * Bundles into `outDir` (created; files of the same names replaced). Returns the output files
 * (absolute paths), esbuild's metafile and the lazy Node imports that were stubbed.
 */
export async function buildBrowser({ outDir = join(root, 'dist', 'browser'), minify = false } = {}) {
  const out = resolve(outDir);
  mkdirSync(out, { recursive: true });
  for (const name of WASM_FILES) {
    const file = join(root, 'build', name);
    if (!existsSync(file)) throw new Error(`build-browser: ${file} is missing: run npm run build:wasm first`);
  }
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: { index: 'src/browser/index.ts', 'engine-worker': 'src/browser/engine-worker.ts' },
    outdir: out,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    // Shared memory, relaxed-SIMD detection and module workers: browsers of 2023 on.
    target: ['es2022'],
    minify,
    sourcemap: false,
    metafile: true,
    logLevel: 'silent',
    legalComments: 'none',
    plugins: [refuseNodeModules],
  });
  for (const name of WASM_FILES) copyFileSync(join(root, 'build', name), join(out, name));
  const files = [...Object.keys(result.metafile.outputs).map((f) => resolve(root, f)), ...WASM_FILES.map((n) => join(out, n))];
  const stubbed = Object.keys(result.metafile.inputs).filter((f) => f.startsWith('node-stub:'));
  return { outDir: out, files, metafile: result.metafile, stubbed };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = process.argv[2] ? resolve(process.argv[2]) : undefined;
  try {
    const { files } = await buildBrowser({ outDir });
    for (const f of files) console.log(relative(process.cwd(), f));
  } catch (e) {
    // esbuild's errors carry one line each, naming the importer and the module.
    const lines = e.errors?.map((x) => `build-browser: ${x.location ? `${x.location.file}:${x.location.line}: ` : ''}${x.text}`) ?? [
      `build-browser: ${e.message}`,
    ];
    console.error(lines.join('\n'));
    process.exit(1);
  }
}
