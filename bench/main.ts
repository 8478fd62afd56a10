/**
 * `npm run bench -- NAME [options]` runs bench/NAME.ts, which exports
 * `run(args: string[]): Promise<void>`. Benchmarks print medians, ratios and peak memory;
 * they never run in the test suite.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';

export async function runBench(argv: string[]): Promise<void> {
  const [name, ...args] = argv;
  const here = dirname(fileURLToPath(import.meta.url));
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const names = readdirSync(here)
    .filter((f) => f.endsWith(ext) && !f.endsWith('.d.ts') && f !== `main${ext}` && !f.startsWith('_'))
    .map((f) => f.slice(0, -ext.length));
  if (!name || !names.includes(name)) {
    console.error(`usage: npm run bench -- <${names.join('|')}> [options]`);
    process.exitCode = 2;
    return;
  }
  const mod = (await import(`./${name}${ext === '.ts' ? '.ts' : '.js'}`)) as { run(args: string[]): Promise<void> };
  await mod.run(args);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await runBench(process.argv.slice(2));
}
