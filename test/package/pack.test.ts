/**
 * The package as users get it: `npm pack` (which runs prepack, the full build), the tarball's
 * file list, an install of the tarball into an empty folder, the installed command, a
 * TypeScript consumer type-checked against the shipped declarations, and a JavaScript consumer
 * that imports the package and trains, predicts and loads a detector on the shipped kernels.
 * Slow (a build and an install, about a minute): run it alone with `npm test -- package`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  main: string;
  types: string;
  bin: Record<string, string>;
  exports: Record<string, Record<string, string>>;
  overrides?: Record<string, unknown>;
};

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment for child npm and node processes: without the npm_* variables of the `npm test`
 * that started us (npm reads npm_config_* as settings), except where the cache and registry are.
 */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  const keep = new Set(['npm_config_cache', 'npm_config_registry', 'npm_config_userconfig']);
  for (const [k, v] of Object.entries(process.env)) {
    if (k.toLowerCase().startsWith('npm_') && !keep.has(k.toLowerCase())) continue;
    env[k] = v;
  }
  delete env.PYRAMIDFLOW_BACKEND; // the consumer must run on the shipped WebAssembly kernels
  delete env.NODE_OPTIONS; // no tsx loader in the consumer
  return env;
}

/**
 * Runs a command to its end; past `timeoutMs` its whole process group is killed (npm pack's
 * prepack runs the build in grandchildren, which a plain kill of npm would leave running).
 */
function run(cmd: string, args: string[], cwd: string, timeoutMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: childEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (timedOut) stderr += `\n(killed after ${timeoutMs / 1000} s: ${cmd} ${args.join(' ')})`;
      resolve({ code, stdout, stderr });
    });
  });
}

function show(r: Run): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout.slice(-4000)}\n--- stderr\n${r.stderr.slice(-4000)}`;
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

const strip = (p: string): string => p.replace(/^\.\//, '');

describe('the package as users get it', () => {
  let work = '';
  let tarball = '';
  let files: string[] = [];
  let consumer = '';
  let installed = false;

  before(
    async () => {
      work = mkdtempSync(join(tmpdir(), 'pyramidflow-pack-'));
      // prepack builds (wasm and TypeScript) before packing; its output shares stdout with the JSON.
      const r = await run('npm', ['pack', '--json', '--pack-destination', work], root, 240_000);
      assert.equal(r.code, 0, `npm pack failed\n${show(r)}`);
      const start = [...r.stdout.matchAll(/^\[\s*$/gm)].pop();
      assert.ok(start?.index !== undefined, `no JSON in npm pack's output\n${show(r)}`);
      const result = (JSON.parse(r.stdout.slice(start.index)) as Array<{ filename: string; files: Array<{ path: string }> }>)[0]!;
      files = result.files.map((f) => f.path).sort();
      tarball = join(work, result.filename);
      assert.ok(existsSync(tarball), `${tarball} was not written`);
    },
    { timeout: 300_000 },
  );

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('ships the build of src/, the kernels, the licence and the readme, and no tests, benches or source maps', () => {
    assert.deepEqual(
      files.filter((f) => f.startsWith('dist/test/')),
      [],
      'dist/test is shipped',
    );
    assert.deepEqual(
      files.filter((f) => f.startsWith('dist/bench/')),
      [],
      'dist/bench is shipped',
    );
    assert.deepEqual(
      files.filter((f) => f.endsWith('.map')),
      [],
      'source maps are shipped',
    );
    const top = new Set(['LICENSE', 'README.md', 'package.json']);
    const stray = files.filter((f) => !top.has(f) && !/^(bin\/|dist\/src\/|dist\/browser\/|dist\/app\/|build\/[^/]+\.(wasm|node)$)/.test(f));
    assert.deepEqual(stray, [], 'files outside bin/, dist/src/, dist/browser/, dist/app/, build/*.wasm and build/*.node');
    // the native products built here (npm run build:native; CI requires them) travel with the kernels
    const native = `build/native-kernels-${process.platform}-${process.arch}.node`;
    const needed = [
      'LICENSE',
      'README.md',
      'package.json',
      'build/kernels-simd.wasm',
      'build/kernels-relaxed.wasm',
      ...(existsSync(join(root, native)) ? [native] : []),
      'dist/src/index.js',
      'dist/src/index.d.ts',
      'dist/src/cli/main.js', // what bin/pyramidflow.js imports
      'dist/browser/engine-worker.js', // what pyramidflow/browser starts, with the kernels next to it
      'dist/browser/kernels-simd.wasm',
      'dist/browser/kernels-relaxed.wasm',
      'dist/app/index.html', // the page `pyramidflow app` copies and `serve` serves at /app
      'dist/app/app.js',
      'dist/app/pyramidflow-app.json',
      'dist/app/lib/engine-worker.js',
      'dist/app/lib/kernels-simd.wasm',
      strip(pkg.main),
      strip(pkg.types),
      ...Object.values(pkg.bin).map(strip),
      ...Object.values(pkg.exports)
        .flatMap((e) => Object.values(e))
        .map(strip),
    ];
    for (const f of needed) assert.ok(files.includes(f), `${f} is not in the package`);
    // Every compiled module comes from a source that exists now (no leftovers of a stale dist/).
    const stale = files.filter((f) => /^dist\/src\/.*\.js$/.test(f)).filter((f) => !existsSync(join(root, f.slice('dist/'.length).replace(/\.js$/, '.ts'))));
    assert.deepEqual(stale, [], 'compiled files without a source in src/');
  });

  it('installs from the tarball into an empty project', { timeout: 300_000 }, async () => {
    consumer = join(work, 'consumer');
    mkdirSync(consumer);
    // The README's advice for Node 20: the same override the package uses for its own install.
    writeFileSync(
      join(consumer, 'package.json'),
      JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module', overrides: pkg.overrides }, null, 2),
    );
    const r = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], consumer, 240_000);
    assert.equal(r.code, 0, `npm install failed\n${show(r)}`);
    assert.doesNotMatch(r.stdout + r.stderr, /EBADENGINE/, "an engine warning with the README's override in place");
    const dir = join(consumer, 'node_modules', 'pyramidflow');
    assert.ok(existsSync(join(dir, 'build', 'kernels-simd.wasm')));
    const withMaps = walk(join(dir, 'dist')).filter((f) => f.endsWith('.js') && readFileSync(f, 'utf8').includes('//# sourceMappingURL='));
    assert.deepEqual(
      withMaps.map((f) => relative(dir, f)),
      [],
      'compiled files point at source maps',
    );
    installed = true;
  });

  it('runs the installed command', { timeout: 120_000 }, async () => {
    assert.ok(installed, 'not installed');
    const help = await run('npx', ['--no', '--', 'pyramidflow', '--help'], consumer, 60_000);
    assert.equal(help.code, 0, show(help));
    assert.match(help.stdout, /^Usage: pyramidflow /);
    assert.match(help.stdout, /\btrain \[options\]/);
    const version = await run('npx', ['--no', '--', 'pyramidflow', '--version'], consumer, 60_000);
    assert.equal(version.code, 0, show(version));
    assert.equal(version.stdout.trim(), pkg.version);
    // a tiny training names its kernels: the installed package finds its own native file where one was built here
    const cli = (...args: string[]): ReturnType<typeof run> => run('npx', ['--no', '--', 'pyramidflow', ...args], consumer, 60_000);
    const made = await cli('synth', '--out', 'tiny', '--categories', 'grid', '--size', '32', '--train', '6', '--test-good', '1', '--test-defect', '1');
    assert.equal(made.code, 0, show(made));
    const trained = await cli(
      'train',
      '--data',
      'tiny',
      '--category',
      'grid',
      '--out',
      'tiny.pflow',
      '--size',
      '32',
      '--epochs',
      '1',
      '--channels',
      '4',
      '--levels',
      '2',
    );
    assert.equal(trained.code, 0, show(trained));
    const built = existsSync(join(root, 'build', `native-kernels-${process.platform}-${process.arch}.node`));
    assert.match(trained.stdout + trained.stderr, built ? /wasm-relaxed-simd\+avx2 x\d/ : /wasm-(relaxed-)?simd x\d/);
  });

  it('type-checks a TypeScript consumer against the shipped declarations, and rejects a wrong one', { timeout: 300_000 }, async () => {
    assert.ok(installed, 'not installed');
    writeFileSync(
      join(consumer, 'good.ts'),
      `
import { train, predict, loadDetector, info, synth, type TrainOptions, type TrainSummary, type ImageDetector, type ImagePrediction, type PredictResult, type ModelInfo, type SynthOptions } from 'pyramidflow';
import { readFileSync } from 'node:fs';

const data: SynthOptions = { out: 'data', categories: ['grid'], size: 64, train: 4 };
const options: TrainOptions = { data: 'data', category: 'grid', out: 'model.pfm', size: 64, epochs: 1, channels: 4, levels: 2, stacks: 1 };

export async function main(): Promise<number> {
  await synth(data);
  const summary: TrainSummary = await train(options, (p) => void p);
  const predictions: PredictResult[] = await predict({ model: summary.modelFile, inputs: ['data/grid/test'] });
  const first = predictions[0]!;
  if (first.error) throw new Error(first.error.message);
  const detector: ImageDetector = await loadDetector(summary.modelFile, { threads: 2 });
  const about: ModelInfo = await info(summary.modelFile);
  const judged: ImagePrediction = await detector.predictImage(readFileSync('data/grid/test/good/000.png'));
  const png: Uint8Array = await detector.heatmapPng(judged);
  return predictions.length + first.score + about.parameters + detector.info.config.channels + png.length;
}
`,
    );
    writeFileSync(
      join(consumer, 'bad.ts'),
      `
import { train, type TrainOptions } from 'pyramidflow';
const options: TrainOptions = { data: 'data', out: 'model.pfm', epochs: 'many' };
await train(options);
`,
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const flags = [
      '--module',
      'NodeNext',
      '--moduleResolution',
      'NodeNext',
      '--target',
      'ES2022',
      '--strict',
      '--noEmit',
      // A TypeScript consumer on Node has @types/node; the repo's stands in for it.
      '--types',
      'node',
      '--typeRoots',
      join(root, 'node_modules', '@types'),
    ];
    const good = await run(process.execPath, [tsc, ...flags, 'good.ts'], consumer, 120_000);
    assert.equal(good.code, 0, `the consumer does not type-check\n${show(good)}`);
    const bad = await run(process.execPath, [tsc, ...flags, 'bad.ts'], consumer, 120_000);
    assert.notEqual(bad.code, 0, 'a wrong options object type-checks: the declarations are not used');
    assert.match(bad.stdout, /bad\.ts\(3,\d+\): error TS2322: Type 'string' is not assignable to type 'number'/, show(bad));
  });

  it('imports the package from JavaScript and trains, predicts and loads a detector on the shipped kernels', { timeout: 120_000 }, async () => {
    assert.ok(installed, 'not installed');
    writeFileSync(
      join(consumer, 'run.mjs'),
      `
import { synth, train, predict, info, loadDetector } from 'pyramidflow';
import { readFileSync } from 'node:fs';
const out = {};
try {
  await info('missing.pfm');
  out.missing = 'resolved';
} catch (e) {
  out.missing = { name: e.name, message: e.message };
}
const s = await synth({ out: 'data', categories: ['grid'], size: 64, train: 4, testGood: 1, testDefect: 1, seed: 1 });
out.synth = s.categories.map((c) => [c.name, c.train, c.testGood, c.testDefect]);
const summary = await train({ data: 'data', category: 'grid', out: 'model.pfm', size: 64, epochs: 1, channels: 4, levels: 2, stacks: 1, threads: 2 });
out.steps = summary.steps;
const predictions = await predict({ model: 'model.pfm', inputs: ['data/grid/test/good/000.png'], threads: 2 });
out.score = predictions[0].score;
out.parameters = (await info('model.pfm')).parameters;
const detector = await loadDetector('model.pfm', { threads: 2 });
const png = await detector.heatmapPng(await detector.predictImage(readFileSync('data/grid/test/patch/000.png')));
out.png = [...png.subarray(1, 4)].map((b) => String.fromCharCode(b)).join('');
console.log(JSON.stringify(out));
`,
    );
    const r = await run(process.execPath, ['run.mjs'], consumer, 120_000);
    assert.equal(r.code, 0, show(r));
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      missing: { name: string; message: string } | string;
      synth: unknown;
      steps: number;
      score: unknown;
      parameters: number;
      png: string;
    };
    assert.notEqual(out.missing, 'resolved', 'info on a missing file resolved');
    assert.equal(typeof out.missing === 'object' && out.missing.name, 'PyramidFlowError');
    assert.match((out.missing as { message: string }).message, /missing\.pfm/);
    assert.deepEqual(out.synth, [['grid', 4, 1, 1]]);
    assert.ok(out.steps >= 1, `steps ${out.steps}`);
    assert.equal(typeof out.score, 'number');
    assert.ok(Number.isFinite(out.score as number), `score ${out.score}`);
    assert.ok(out.parameters > 0);
    assert.equal(out.png, 'PNG');
  });
});
