#!/usr/bin/env node
// Compiles the AssemblyScript kernels (assembly/) into two WebAssembly modules:
//   build/kernels-simd.wasm     SIMD128 only (runs on every engine with SIMD)
//   build/kernels-relaxed.wasm  plus relaxed SIMD (fused multiply-add)
// Both import a shared memory 'env.memory' (up to 4 GiB) so that worker threads can run
// the same module over the same data. The runtime is the stub one: the kernels never
// allocate; the TypeScript side lays out every buffer.
import asc from 'assemblyscript/asc';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// Generated sources, refreshed first: straight-line FFT codelets (assembly/fft-codelets.ts), and
// the kernel ids, map operations and affine flags (assembly/kernel-ids.ts) from the backend's
// table, src/tensor/kernels/wasm/kernel-ids.ts, their one source.
await import(pathToFileURL(join(root, 'assembly', 'gen', 'fft-codelets.mjs')).href);
await import(pathToFileURL(join(root, 'assembly', 'gen', 'kernel-ids.mjs')).href);
const outDir = join(root, 'build');
mkdirSync(outDir, { recursive: true });

const common = [
  join(root, 'assembly', 'index.ts'),
  '-O3',
  '--noAssert',
  '--runtime',
  'stub',
  '--importMemory',
  '--sharedMemory',
  '--initialMemory',
  '2',
  '--maximumMemory',
  '65536',
  '--enable',
  'simd',
  '--enable',
  'threads',
  '--use',
  'abort=',
  '--uncheckedBehavior',
  'always',
];

const builds = [
  { file: 'kernels-simd.wasm', extra: [] },
  { file: 'kernels-relaxed.wasm', extra: ['--enable', 'relaxed-simd'] },
];

let failed = false;
for (const b of builds) {
  const out = join(outDir, b.file);
  const args = [...common, ...b.extra, '-o', out];
  const { error, stderr } = await asc.main(args, { stdout: process.stdout, stderr: process.stderr });
  if (error) {
    console.error(`build-wasm: ${b.file} failed: ${error.message}`);
    console.error(stderr.toString());
    failed = true;
  } else {
    console.log(`build-wasm: ${out.slice(root.length + 1)}`);
  }
}
if (failed) process.exit(1);
