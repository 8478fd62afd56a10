#!/usr/bin/env node
// The installed command runs the compiled CLI; `npm run build` produces dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error('pyramidflow: not built yet. Run `npm run build` in the package folder first.');
  process.exit(1);
}
await import(entry.href);
