#!/usr/bin/env node
// Builds the optional native kernels (native/: the FFT convolutions' products and 2D
// transforms, see src/tensor/kernels/wasm/native-kernels.ts) with node-gyp against this
// Node.js, into build/native-kernels-<platform>-<arch>.node. Only x86-64 has them. Without a C compiler or
// Node's headers the build is skipped with a note (the WebAssembly kernels run instead),
// unless PYRAMIDFLOW_REQUIRE_NATIVE=1 (CI) makes that an error.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const required = process.env.PYRAMIDFLOW_REQUIRE_NATIVE === '1';
const target = join(root, 'build', `native-kernels-${process.platform}-${process.arch}.node`);

function skip(why) {
  const line = `build-native: ${why}`;
  if (required) {
    console.error(`${line} (PYRAMIDFLOW_REQUIRE_NATIVE=1)`);
    process.exit(1);
  }
  console.warn(`${line}; the WebAssembly kernels will run instead`);
  process.exit(0);
}

if (process.arch !== 'x64') skip(`no native kernels for ${process.arch}`);
const gyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
const r = spawnSync(process.execPath, [gyp, 'rebuild', '--directory', join(root, 'native')], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
if (r.status !== 0) {
  process.stderr.write(r.stdout.slice(-4000) + r.stderr.slice(-4000));
  skip('node-gyp could not build native/');
}
mkdirSync(dirname(target), { recursive: true });
// written beside, then renamed: a running process never loads a half-copied file
copyFileSync(join(root, 'native', 'build', 'Release', 'kernels.node'), `${target}.tmp`);
renameSync(`${target}.tmp`, target);
console.log(`build-native: ${target.slice(root.length + 1)}`);
