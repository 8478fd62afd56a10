#!/usr/bin/env node
// Runs every test/**/*.test.ts with Node's test runner through tsx.
// Node 20's --test takes no globs, so the files are listed here.
// Usage: npm test [-- substring ...]  (only files whose path contains a substring)
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}
const filters = process.argv.slice(2);
const files = walk('test').filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// Freed resident arrays are filled with NaN, so that any use after free fails a test (src/tensor/storage.ts).
const env = { ...process.env, PYRAMIDFLOW_POISON_FREED: '1' };
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
