/**
 * `npm run bench -- NAME [options]` runs bench/NAME.ts, which exports
 * `run(args: string[]): Promise<void>` and its `usage` line (printed for --help and bad
 * options), and may export `help`: lines about its options, printed for --help after the usage. Benchmarks print medians, ratios and peak memory; they never run in the test suite.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';
import { UsageError } from './_util.js';
import { PyramidFlowError } from '../src/util/errors.js';

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
  const mod = (await import(`./${name}${ext === '.ts' ? '.ts' : '.js'}`)) as { run(args: string[]): Promise<void>; usage: string; help?: string };
  if (args.includes('--help') || args.includes('-h')) {
    console.log(`usage: ${mod.usage}`);
    if (mod.help) console.log(`\n${mod.help}`);
    return;
  }
  try {
    await mod.run(args);
  } catch (e) {
    // node:util parseArgs reports unknown or malformed options with ERR_PARSE_ARGS_* codes;
    // the library's own errors (a bad model option, an unreadable file) name what is wrong
    const code = (e as { code?: unknown }).code;
    const named = e instanceof UsageError || e instanceof PyramidFlowError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'));
    if (!named) throw e;
    console.error(`bench ${name}: ${(e as Error).message}\nusage: ${mod.usage}`);
    process.exitCode = 2;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await runBench(process.argv.slice(2));
}
